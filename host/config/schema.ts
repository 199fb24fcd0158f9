// Envoy's v3 API as protobufjs reflection, loaded from the .proto files that @grpc/grpc-js-xds
// ships. Loading takes a few hundred milliseconds, so the Root is built once per process.

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import protobuf from "protobufjs";
import { addCurrentEnvoyFields } from "./schema-additions.ts";

const require = createRequire(import.meta.url);
const xdsDeps = path.join(path.dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");
// google/protobuf/descriptor.proto (imported by the validate and udpa annotations) comes with protobufjs.
const protobufjsDir = path.dirname(require.resolve("protobufjs/package.json"));

/** Import roots, searched in order, as protoc's -I would be. */
const INCLUDE_ROOTS = ["envoy-api", "xds", "googleapis", "protoc-gen-validate"]
  .map((dir) => path.join(xdsDeps, dir))
  .concat(protobufjsDir);

/** The files whose types a config may name: Envoy's API and the xds/udpa types it embeds. */
const TYPE_ROOTS = INCLUDE_ROOTS.slice(0, 2);

// The well-known types protobufjs bundles itself (descriptor.proto is not among them).
const BUNDLED = /^google\/protobuf\/(?!descriptor\.proto$)[a-z_]+\.proto$/;

let cached: protobuf.Root | undefined;

export function envoySchema(): protobuf.Root {
  cached ??= loadSchema();
  return cached;
}

function loadSchema(): protobuf.Root {
  const loadable = loadableFiles();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => findInclude(target) ?? target;
  root.loadSync(loadable, { keepCase: true }); // also resolves every type reference
  addCurrentEnvoyFields(root);
  return root;
}

function findInclude(file: string): string | undefined {
  for (const dir of INCLUDE_ROOTS) {
    const candidate = path.join(dir, file);
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Every .proto under the type roots whose imports can all be found. The package carries only
 * part of the v2 API, and a few files still import it; those (none of them needed by a v3
 * bootstrap) are left out rather than failing the whole load.
 */
function loadableFiles(): string[] {
  const verdicts = new Map<string, boolean>();
  const isLoadable = (file: string): boolean => {
    if (BUNDLED.test(file)) return true;
    const known = verdicts.get(file);
    if (known !== undefined) return known;
    verdicts.set(file, true); // import cycles are not a reason to refuse
    const found = findInclude(file);
    const verdict = found !== undefined && importsOf(found).every(isLoadable);
    verdicts.set(file, verdict);
    return verdict;
  };
  return TYPE_ROOTS.flatMap((dir) => protoFilesUnder(dir).map((file) => path.relative(dir, file))).filter(isLoadable);
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  return [...text.matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)"/gm)].map((match) => match[1]!);
}

function protoFilesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".proto"))
    .map((file) => path.join(dir, file));
}
