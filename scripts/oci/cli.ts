// make oci: a Wasm module as an OCI image layout in Istio's Wasm image format (image.ts), ready
// for `skopeo copy oci:DIR:TAG docker://REGISTRY/NAME:TAG`. One line on stderr and exit 1 for
// anything wrong with the arguments or the module.

import { readFileSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import { buildWasmImage, ISTIO_MAX_WASM_BINARY_BYTES, MAX_MODULE_BYTES, MEDIA_TYPES, PLUGIN_FILE } from "./image.ts";
import { LayoutDirectoryError, writeImageLayout } from "./layout.ts";

const HELP = `Usage: npx tsx scripts/oci/cli.ts --module FILE --root-id ID [--out DIR] [--tag TAG]

Packs a proxy-wasm module as an OCI image layout in the Wasm image format Istio pulls
(compat variant: one tar+gzip layer holding ${PLUGIN_FILE}). The same module gives the same digests.
An existing layout in DIR is added to: its other images and tags stay, TAG moves to this image.

Options:
      --module FILE   the .wasm module, e.g. build/main.wasm: a regular file of at most
                      ${MAX_MODULE_BYTES} bytes (what Istio's agent unpacks by default)
      --root-id ID    the root id the module registers (WasmPlugin pluginName), e.g. tcp_connection_logger
      --out DIR       the layout directory: missing, empty or an OCI image layout (default build/oci/ID)
      --tag TAG       the tag inside the layout (default: package.json's version)
  -h, --help          print this help
`;

const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);
/** A registry repository path component (lower case) and a tag, as the distribution spec allows. */
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

class UsageError extends Error {
  override name = "UsageError";
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return manifest.version;
}

/** The module's bytes, read only once it is known to be a regular file small enough for Istio. */
function readModule(path: string): Buffer {
  let bytes: Buffer;
  try {
    // A device, a FIFO or a folder is refused before it is opened: /dev/zero never ends, a FIFO
    // blocks the open.
    const stats = statSync(path);
    if (!stats.isFile()) throw new UsageError(`--module: ${path} is not a regular file`);
    if (stats.size > MAX_MODULE_BYTES) {
      throw new UsageError(
        `--module: ${path} is ${stats.size} bytes; a module can be at most ${MAX_MODULE_BYTES}, ` +
          `as Istio's agent unpacks at most ${ISTIO_MAX_WASM_BINARY_BYTES} bytes of the layer's tar (ISTIO_WASM_MAX_BINARY_SIZE_BYTES)`,
      );
    }
    bytes = readFileSync(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (error instanceof Error && "code" in error && error.code === "ENOENT") throw new UsageError(`--module: cannot read ${path}; run make build`);
    throw new UsageError(`--module: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!bytes.subarray(0, 4).equals(WASM_MAGIC)) throw new UsageError(`--module: ${path} is not a WebAssembly module`);
  return bytes;
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      module: { type: "string" },
      "root-id": { type: "string" },
      out: { type: "string" },
      tag: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.module === undefined) throw new UsageError("--module is required (see --help)");
  const rootId = values["root-id"];
  if (rootId === undefined) throw new UsageError("--root-id is required (see --help)");
  if (!REPOSITORY_NAME.test(rootId)) throw new UsageError(`--root-id: '${rootId}' cannot name a registry repository (lower case, digits, . _ -)`);
  const tag = values.tag ?? packageVersion();
  if (!TAG.test(tag)) throw new UsageError(`--tag: '${tag}' is not a valid image tag`);
  const out = values.out ?? `build/oci/${rootId}`;
  // An empty path would put the layout's files in the current folder.
  if (out === "") throw new UsageError("--out: the folder name is empty");

  const wasm = readModule(values.module);
  const image = buildWasmImage(wasm, { rootId, tag });
  const { otherManifests } = writeImageLayout(out, image);
  const kept = otherManifests === 0 ? [] : [`  kept     ${otherManifests} other manifest${otherManifests === 1 ? "" : "s"} the layout's index.json lists`];
  process.stdout.write(
    [
      `${out}: ${values.module} (${wasm.length} bytes) as ${rootId}:${tag}, Istio's compat Wasm image`,
      `  manifest ${image.manifest.descriptor.digest}  ${MEDIA_TYPES.manifest}`,
      `  config   ${image.config.descriptor.digest}  ${MEDIA_TYPES.config}`,
      `  layer    ${image.layer.descriptor.digest}  ${MEDIA_TYPES.layer} (${PLUGIN_FILE})`,
      ...kept,
      `push it:  skopeo copy oci:${out}:${tag} docker://REGISTRY/${rootId}:${tag}`,
      "",
    ].join("\n"),
  );
  return 0;
}

function userError(error: unknown): string | undefined {
  if (error instanceof UsageError || error instanceof LayoutDirectoryError) return error.message;
  if (error instanceof Error && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
    // node's message goes on, over more lines, with hints that do not apply here
    return `${error.message.split(/\.\s/)[0]} (see --help)`;
  }
  return undefined;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  const message = userError(error);
  if (message === undefined) throw error;
  process.stderr.write(`error: ${message}\n`);
  process.exitCode = 1;
}
