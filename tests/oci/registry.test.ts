// The image of build/main.wasm through a real registry: make oci's layout pushed with skopeo to
// Debian's docker-registry on loopback, inspected there, pulled back, and unpacked the way
// Istio's agent does it (pkg/wasm/imagefetcher.go): the last layer, tar+gzip, its plugin.wasm.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT } from "../helpers/e2e-paths.ts";
import { startTestRegistry, type TestRegistry } from "../helpers/registry.ts";
import { runScript, runTool, skipWithout } from "../helpers/run-tool.ts";

const OCI_CLI = join(ROOT, "scripts", "oci", "cli.ts");
const MAIN_WASM = join(ROOT, "build", "main.wasm");
const ROOT_ID = "tcp_connection_logger";
const TAG = "0.1.0";
const skip = skipWithout("docker-registry", "skopeo", "tar");

/** `skopeo ARGS`, which must succeed; its stdout. */
async function skopeo(...args: string[]): Promise<string> {
  const result = await runTool("skopeo", args);
  assert.equal(result.code, 0, `skopeo ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

function blobPath(layout: string, digest: string): string {
  return join(layout, "blobs", "sha256", digest.slice("sha256:".length));
}

/** The manifest the layout's index.json lists under TAG, as bytes, and its digest. */
function taggedManifest(layout: string): { digest: string; bytes: Buffer } {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const entry = index.manifests.find((manifest: { annotations?: Record<string, string> }) => manifest.annotations?.["org.opencontainers.image.ref.name"] === TAG);
  assert.ok(entry, `no manifest tagged ${TAG} in ${layout}`);
  return { digest: entry.digest, bytes: readFileSync(blobPath(layout, entry.digest)) };
}

describe("the Wasm image in a real registry", () => {
  let registry: TestRegistry;
  let scratch = "";
  let pushed: string;
  let reference: string;
  before(async () => {
    if (skip) return;
    scratch = mkdtempSync(join(tmpdir(), "oci-registry-"));
    pushed = join(scratch, "pushed");
    const built = await runScript(OCI_CLI, ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out", pushed, "--tag", TAG]);
    assert.equal(built.code, 0, built.stderr);
    registry = await startTestRegistry();
    reference = `docker://${registry.address}/${ROOT_ID}:${TAG}`;
  });
  after(async () => {
    await registry?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("skopeo pushes the layout; the registry keeps the manifest byte for byte, under the same digest", { skip }, async () => {
    await skopeo("copy", "--dest-tls-verify=false", `oci:${pushed}:${TAG}`, reference);
    const local = taggedManifest(pushed);
    const raw = await skopeo("inspect", "--tls-verify=false", "--raw", reference);
    assert.equal(raw, local.bytes.toString());
    const inspected = JSON.parse(await skopeo("inspect", "--tls-verify=false", reference));
    assert.equal(inspected.Digest, local.digest);
    assert.deepEqual(inspected.RepoTags, [TAG]);
    assert.equal(inspected.Architecture, "wasm");
    const manifest = JSON.parse(raw);
    assert.deepEqual(inspected.Layers, [manifest.layers[0].digest]);
  });

  it("the registry answers with the media types Istio's fetcher checks: an OCI manifest, the compat layer last", { skip }, async () => {
    const manifest = JSON.parse(await skopeo("inspect", "--tls-verify=false", "--raw", reference));
    assert.equal(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json", "not Docker schema 2: Istio goes to extractOCIStandardImage");
    assert.equal(manifest.layers.at(-1).mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
    assert.equal(manifest.annotations["module.wasm.image/variant"], "compat");
  });

  it("pulled back, the layer's plugin.wasm is build/main.wasm, byte for byte", { skip }, async () => {
    const pulled = join(scratch, "pulled");
    await skopeo("copy", "--src-tls-verify=false", reference, `oci:${pulled}:${TAG}`);
    const manifest = JSON.parse(taggedManifest(pulled).bytes.toString());
    const layer = blobPath(pulled, manifest.layers.at(-1).digest);
    const unpacked = join(scratch, "unpacked");
    const listing = await runTool("tar", ["-tzf", layer]);
    assert.equal(listing.stdout, "plugin.wasm\n");
    const extracted = await runTool("sh", ["-c", `mkdir -p "$1" && tar -xzf "$2" -C "$1"`, "sh", unpacked, layer]);
    assert.equal(extracted.code, 0, extracted.stderr);
    assert.deepEqual(readFileSync(join(unpacked, "plugin.wasm")), readFileSync(MAIN_WASM));
  });
});
