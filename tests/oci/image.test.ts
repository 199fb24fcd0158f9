// make oci: the image layout of build/main.wasm in Istio's compat Wasm image format, byte for
// byte the same on every build, and one clear line for each bad argument.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { buildWasmImage, MAX_MODULE_BYTES } from "../../scripts/oci/image.ts";
import { ROOT } from "../helpers/e2e-paths.ts";
import { runScript, runTool, skipWithout } from "../helpers/run-tool.ts";

const OCI_CLI = join(ROOT, "scripts", "oci", "cli.ts");
const MAIN_WASM = join(ROOT, "build", "main.wasm");
const ROOT_ID = "tcp_connection_logger";

function sha256(bytes: Uint8Array): string {
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

/** Every file of a directory tree, path → bytes. */
function readTree(dir: string, prefix = ""): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const path = join(prefix, entry.name);
    if (entry.isDirectory()) for (const [name, bytes] of readTree(dir, path)) files.set(name, bytes);
    else files.set(path, readFileSync(join(dir, path)));
  }
  return files;
}

describe("the Wasm image of build/main.wasm", () => {
  const wasm = readFileSync(MAIN_WASM);
  const image = buildWasmImage(wasm, { rootId: ROOT_ID, tag: "0.1.0" });
  const manifest = JSON.parse(image.manifest.bytes.toString());
  const config = JSON.parse(image.config.bytes.toString());
  const tar = gunzipSync(image.layer.bytes);

  it("is the compat variant Istio tries first: an OCI manifest with one tar+gzip layer, annotated compat", () => {
    assert.deepEqual(manifest, {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(image.config.bytes), size: image.config.bytes.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(image.layer.bytes), size: image.layer.bytes.length }],
      annotations: { "module.wasm.image/variant": "compat", "org.opencontainers.image.title": ROOT_ID },
    });
    assert.equal(image.manifest.descriptor.digest, sha256(image.manifest.bytes));
  });

  it("has a config whose diff_id is the digest of the uncompressed layer, and no time in it", () => {
    assert.deepEqual(config, { architecture: "wasm", os: "unknown", config: {}, rootfs: { type: "layers", diff_ids: [sha256(tar)] } });
  });

  it("holds exactly one file, plugin.wasm, with the module's bytes, owner 0, mode 0644, mtime 0", () => {
    const header = tar.subarray(0, 512);
    const field = (offset: number, length: number) => header.subarray(offset, offset + length).toString("ascii").replace(/\0.*$/s, "");
    assert.equal(field(0, 100), "plugin.wasm");
    assert.equal(field(100, 8), "0000644");
    assert.equal(field(108, 8), "0000000");
    assert.equal(parseInt(field(124, 12), 8), wasm.length);
    assert.equal(field(136, 12), "00000000000");
    assert.equal(field(156, 1), "0");
    assert.equal(field(257, 6), "ustar");
    const unsignedSum = [...header].reduce((sum, byte, i) => sum + (i >= 148 && i < 156 ? 0x20 : byte), 0);
    assert.equal(parseInt(field(148, 8), 8), unsignedSum);
    assert.deepEqual(tar.subarray(512, 512 + wasm.length), wasm);
    const dataBlocks = Math.ceil(wasm.length / 512) * 512;
    assert.equal(tar.length, 512 + dataBlocks + 1024, "the data, padded, then two zero blocks");
    assert.ok(tar.subarray(512 + wasm.length).every((byte) => byte === 0));
  });

  it("compresses without a timestamp or a file name in the gzip header", () => {
    const gzip = image.layer.bytes;
    assert.deepEqual([...gzip.subarray(0, 4)], [0x1f, 0x8b, 8, 0], "gzip, deflate, no FNAME");
    assert.deepEqual([...gzip.subarray(4, 8)], [0, 0, 0, 0], "MTIME 0");
  });

  it("gives the same digests every time", () => {
    const again = buildWasmImage(Buffer.from(wasm), { rootId: ROOT_ID, tag: "0.1.0" });
    assert.equal(again.manifest.descriptor.digest, image.manifest.descriptor.digest);
    assert.deepEqual(again.index, image.index);
  });

  it("lists the manifest under its tag in index.json", () => {
    assert.deepEqual(JSON.parse(image.index.toString()), {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{ ...image.manifest.descriptor, annotations: { "org.opencontainers.image.ref.name": "0.1.0" } }],
    });
  });
});

describe("scripts/oci/cli.ts (make oci)", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "oci-cli-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("writes the same layout twice: oci-layout, index.json and the three blobs, named by digest", async () => {
    const out = join(scratch, "layout");
    const first = await runScript(OCI_CLI, ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out", out, "--tag", "1.2.3"]);
    assert.equal(first.code, 0, first.stderr);
    const tree = readTree(out);
    const second = await runScript(OCI_CLI, ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out", out, "--tag", "1.2.3"]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(readTree(out), tree);
    assert.equal(second.stdout, first.stdout);
    const image = buildWasmImage(readFileSync(MAIN_WASM), { rootId: ROOT_ID, tag: "1.2.3" });
    const blob = (digest: string) => join("blobs", "sha256", digest.slice("sha256:".length));
    assert.deepEqual(
      [...tree.keys()].sort(),
      [blob(image.layer.descriptor.digest), blob(image.config.descriptor.digest), blob(image.manifest.descriptor.digest), "index.json", "oci-layout"].sort(),
    );
    for (const [name, bytes] of tree) if (name.startsWith("blobs")) assert.equal(sha256(bytes), "sha256:" + name.split("/").at(-1));
    assert.equal(tree.get("oci-layout")!.toString(), '{"imageLayoutVersion":"1.0.0"}');
    assert.match(first.stdout, new RegExp(`^  manifest ${image.manifest.descriptor.digest}  application/vnd\\.oci\\.image\\.manifest\\.v1\\+json$`, "m"));
  });

  it("takes any module and root id: a second filter gets its own layout", async () => {
    const module = join(scratch, "other.wasm");
    writeFileSync(module, Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    const out = join(scratch, "tcp_guard");
    const result = await runScript(OCI_CLI, ["--module", module, "--root-id", "tcp_guard", "--out", out, "--tag", "0.1.0"]);
    assert.equal(result.code, 0, result.stderr);
    const manifestDigest = JSON.parse(readFileSync(join(out, "index.json"), "utf8")).manifests[0].digest as string;
    const manifest = JSON.parse(readFileSync(join(out, "blobs", "sha256", manifestDigest.slice(7)), "utf8"));
    assert.equal(manifest.annotations["org.opencontainers.image.title"], "tcp_guard");
    assert.match(result.stdout, /^push it:  skopeo copy oci:.*tcp_guard:0\.1\.0 docker:\/\/REGISTRY\/tcp_guard:0\.1\.0$/m);
  });

  const badInputs: Array<[string, () => string[], RegExp]> = [
    ["no module", () => ["--root-id", ROOT_ID], /^error: --module is required \(see --help\)$/],
    ["a missing module", () => ["--module", join(scratch, "nope.wasm"), "--root-id", ROOT_ID], /^error: --module: cannot read .*nope\.wasm; run make build$/],
    ["a module that is not wasm", () => ["--module", join(ROOT, "package.json"), "--root-id", ROOT_ID], /^error: --module: .*package\.json is not a WebAssembly module$/],
    ["no root id", () => ["--module", MAIN_WASM], /^error: --root-id is required \(see --help\)$/],
    ["a root id no registry accepts", () => ["--module", MAIN_WASM, "--root-id", "Tcp Logger"], /^error: --root-id: 'Tcp Logger' cannot name a registry repository \(lower case, digits, \. _ -\)$/],
    ["a bad tag", () => ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--tag=-x"], /^error: --tag: '-x' is not a valid image tag$/],
    ["an option without its value", () => ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--tag", "-x"], /^error: Option '--tag' argument is ambiguous \(see --help\)$/],
    ["an unknown option", () => ["--modul", MAIN_WASM], /^error: Unknown option '--modul' \(see --help\)$/],
    ["an output folder that is not a layout", () => {
      const folder = join(scratch, "not-a-layout");
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, "keep.txt"), "mine");
      return ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out", folder];
    }, /^error: --out: .*not-a-layout is not an OCI image layout \(no oci-layout file\); choose another --out$/],
    ["an output that is a file", () => {
      const file = join(scratch, "a-file");
      writeFileSync(file, "mine");
      return ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out", file];
    }, /^error: --out: .*a-file exists and is not a folder$/],
    ["an output under a file", () => {
      const file = join(scratch, "a-file");
      writeFileSync(file, "mine");
      return ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out", join(file, "layout")];
    }, /^error: --out: cannot write .*a-file\/layout: ENOTDIR: not a directory, mkdir '.*a-file\/layout\/blobs\/sha256'$/],
    ["an empty output path", () => ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out="], /^error: --out: the folder name is empty$/],
    ["a module that is a folder", () => ["--module", scratch, "--root-id", ROOT_ID], /^error: --module: .*oci-cli-\w+ is not a regular file$/],
    ["a module that is a device that never ends", () => ["--module", "/dev/zero", "--root-id", ROOT_ID], /^error: --module: \/dev\/zero is not a regular file$/],
    ["a module larger than Istio's agent unpacks", () => {
      // sparse: as large as it says, without the disk or the memory
      const big = join(scratch, "big.wasm");
      writeFileSync(big, Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
      truncateSync(big, MAX_MODULE_BYTES + 1);
      return ["--module", big, "--root-id", ROOT_ID, "--out", join(scratch, "big-layout")];
    }, new RegExp(
      // 256 MiB of tar, less the 512-byte header in front of plugin.wasm
      `^error: --module: .*big\\.wasm is ${MAX_MODULE_BYTES + 1} bytes; a module can be at most 268434944, ` +
        "as Istio's agent unpacks at most 268435456 bytes of the layer's tar \\(ISTIO_WASM_MAX_BINARY_SIZE_BYTES\\)$",
    )],
  ];
  for (const [what, args, message] of badInputs) {
    it(`refuses ${what} in one line, exit 1`, async () => {
      const result = await runScript(OCI_CLI, args());
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /^[^\n]*\n$/, "one line");
      assert.match(result.stderr.trimEnd(), message);
    });
  }

  it("leaves a folder that is not a layout as it was", () => {
    assert.equal(readFileSync(join(scratch, "not-a-layout", "keep.txt"), "utf8"), "mine");
  });

  it("refuses a FIFO without opening it (the open would wait for a writer)", { skip: skipWithout("mkfifo") }, async () => {
    const fifo = join(scratch, "module.fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const result = await runScript(OCI_CLI, ["--module", fifo, "--root-id", ROOT_ID]);
    assert.deepEqual(result, { code: 1, stdout: "", stderr: `error: --module: ${fifo} is not a regular file\n` });
  });

  it("refuses a folder holding a file named oci-layout but no layout, and leaves every file as it was", async () => {
    const folder = join(scratch, "looks-like-a-layout");
    mkdirSync(join(folder, "sub"), { recursive: true });
    writeFileSync(join(folder, "important.txt"), "mine");
    writeFileSync(join(folder, "sub", "notes.md"), "notes");
    writeFileSync(join(folder, "oci-layout"), "not json");
    const before = readTree(folder);
    const result = await runScript(OCI_CLI, ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out", folder]);
    assert.deepEqual(result, {
      code: 1,
      stdout: "",
      stderr: `error: --out: ${folder} is not an OCI image layout (oci-layout is not {"imageLayoutVersion":"1.0.0"}); choose another --out\n`,
    });
    assert.deepEqual(readTree(folder), before);
  });

  it("refuses a layout whose index.json is not an image index, and leaves it as it was", async () => {
    const folder = join(scratch, "broken-index");
    mkdirSync(folder);
    writeFileSync(join(folder, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(join(folder, "index.json"), '{"schemaVersion":2}');
    const before = readTree(folder);
    const result = await runScript(OCI_CLI, ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out", folder]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `error: --out: ${folder} is not an OCI image layout (index.json is not an image index with schemaVersion 2 and a list of manifests); choose another --out\n`,
    );
    assert.deepEqual(readTree(folder), before);
  });

  it("adds to an existing layout as skopeo does: every image, blob and file stays; the tag moves, its old manifest stays untagged", async () => {
    const out = join(scratch, "shared-layout");
    const other = join(scratch, "other.wasm");
    writeFileSync(other, Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    const first = await runScript(OCI_CLI, ["--module", other, "--root-id", ROOT_ID, "--out", out, "--tag", "0.1.0"]);
    assert.equal(first.code, 0, first.stderr);
    // Another image, as skopeo would have added it: its own blob and tag, and the index's own fields.
    const foreignBlob = Buffer.from('{"schemaVersion":2,"layers":[]}');
    const foreignDigest = sha256(foreignBlob);
    writeFileSync(join(out, "blobs", "sha256", foreignDigest.slice(7)), foreignBlob);
    const index = JSON.parse(readFileSync(join(out, "index.json"), "utf8"));
    const foreignEntry = {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: foreignDigest,
      size: foreignBlob.length,
      annotations: { "org.opencontainers.image.ref.name": "other" },
    };
    writeFileSync(join(out, "index.json"), JSON.stringify({ ...index, manifests: [foreignEntry, ...index.manifests], annotations: { kept: "yes" } }));
    writeFileSync(join(out, "important.txt"), "mine");
    const before = readTree(out);

    const moved = await runScript(OCI_CLI, ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out", out, "--tag", "0.1.0"]);
    assert.equal(moved.code, 0, moved.stderr);
    assert.match(moved.stdout, /^  kept     2 other manifests the layout's index\.json lists$/m);
    const added = await runScript(OCI_CLI, ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out", out, "--tag", "0.2.0"]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^  kept     3 other manifests the layout's index\.json lists$/m);
    const again = await runScript(OCI_CLI, ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out", out, "--tag", "0.2.0"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, added.stdout, "the same image under the same tag: the index as it was");

    const after = readTree(out);
    for (const [name, bytes] of before) if (name !== "index.json") assert.deepEqual(after.get(name), bytes, `${name} is as it was`);
    const image = (tag: string) => buildWasmImage(readFileSync(MAIN_WASM), { rootId: ROOT_ID, tag });
    const { annotations: _tag, ...untaggedOther } = index.manifests[0];
    assert.deepEqual(JSON.parse(after.get("index.json")!.toString()), {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [foreignEntry, untaggedOther, image("0.1.0").indexEntry, image("0.2.0").indexEntry],
      annotations: { kept: "yes" },
    });
    for (const blob of [image("0.1.0").layer, image("0.1.0").config, image("0.1.0").manifest]) {
      assert.deepEqual(after.get(join("blobs", "sha256", blob.descriptor.digest.slice(7))), blob.bytes);
    }
    assert.deepEqual([...after.keys()].filter((name) => !before.has(name)).length, 3, "the three blobs of build/main.wasm's image, nothing else");
  });

  it("adds to a layout skopeo wrote, and skopeo reads every tag back and moves one in it", { skip: skipWithout("skopeo") }, async () => {
    const skopeo = async (...args: string[]) => {
      const result = await runTool("skopeo", args);
      assert.equal(result.code, 0, `skopeo ${args.join(" ")}: ${result.stderr}`);
      return result.stdout;
    };
    const ours = join(scratch, "ours");
    const shared = join(scratch, "skopeo-layout");
    const other = join(scratch, "other.wasm");
    writeFileSync(other, Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    assert.equal((await runScript(OCI_CLI, ["--module", MAIN_WASM, "--root-id", ROOT_ID, "--out", ours, "--tag", "0.1.0"])).code, 0);
    await skopeo("copy", `oci:${ours}:0.1.0`, `oci:${shared}:theirs`);
    const added = await runScript(OCI_CLI, ["--module", other, "--root-id", ROOT_ID, "--out", shared, "--tag", "0.1.0"]);
    assert.equal(added.code, 0, added.stderr);
    const main = buildWasmImage(readFileSync(MAIN_WASM), { rootId: ROOT_ID, tag: "theirs" });
    const otherImage = buildWasmImage(readFileSync(other), { rootId: ROOT_ID, tag: "0.1.0" });
    assert.deepEqual(Buffer.from(await skopeo("inspect", "--raw", `oci:${shared}:theirs`)), main.manifest.bytes);
    assert.deepEqual(Buffer.from(await skopeo("inspect", "--raw", `oci:${shared}:0.1.0`)), otherImage.manifest.bytes);
    // skopeo moves a tag in the index make oci wrote the way make oci moves one: the old entry stays, untagged
    await skopeo("copy", `oci:${ours}:0.1.0`, `oci:${shared}:0.1.0`);
    const { annotations: _tag, ...untagged } = otherImage.indexEntry;
    assert.deepEqual(
      JSON.parse(readFileSync(join(shared, "index.json"), "utf8")).manifests,
      [main.indexEntry, untagged, { ...main.indexEntry, annotations: { "org.opencontainers.image.ref.name": "0.1.0" } }],
    );
  });
});
