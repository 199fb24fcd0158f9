// Writes a Wasm image into an OCI image layout (oci-layout, index.json, blobs/sha256/…), the
// directory form `skopeo copy oci:DIR:TAG` reads. A layout that is already there is added to as
// skopeo adds to one (containers/image oci/layout/oci_dest.go, addManifest): every image, tag and
// blob stays; the tag moves to the new manifest, and the manifest it named stays without a name.
// Nothing this does deletes a file.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { digest, MEDIA_TYPES, REF_NAME_ANNOTATION, type Descriptor, type WasmImage } from "./image.ts";

const LAYOUT_MARKER = "oci-layout";
const LAYOUT_VERSION = "1.0.0";
const INDEX_FILE = "index.json";

/** An --out that cannot take the image; the message is one line. */
export class LayoutDirectoryError extends Error {
  override name = "LayoutDirectoryError";
}

export interface LayoutWritten {
  /** the manifests index.json lists beside the image's */
  otherManifests: number;
}

/**
 * Writes the image into `dir`: a new layout when `dir` is missing or empty, else added to the
 * layout `dir` holds. Refuses anything else (a file, a folder that is not a layout, a layout
 * whose index.json cannot be read) before writing a byte.
 */
export function writeImageLayout(dir: string, image: WasmImage): LayoutWritten {
  const existing = existingIndex(dir);
  const manifests = existing === undefined ? [image.indexEntry] : withManifest(existing.manifests, image.indexEntry);
  const index = existing === undefined ? image.index : Buffer.from(JSON.stringify({ ...existing.index, manifests }));
  try {
    const blobs = join(dir, "blobs", "sha256");
    mkdirSync(blobs, { recursive: true });
    for (const { descriptor, bytes } of [image.layer, image.config, image.manifest]) {
      writeBlob(join(blobs, descriptor.digest.slice("sha256:".length)), descriptor, bytes);
    }
    // index.json is replaced whole, never left half written: it lists the layout's other images too.
    const partial = join(dir, `${INDEX_FILE}.${process.pid}.partial`);
    writeFileSync(partial, index);
    renameSync(partial, join(dir, INDEX_FILE));
    if (existing === undefined) writeFileSync(join(dir, LAYOUT_MARKER), JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
  } catch (error) {
    throw new LayoutDirectoryError(`--out: cannot write ${dir}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { otherManifests: manifests.length - 1 };
}

/**
 * The index's manifests with `entry` added as skopeo adds one: the entry that had its tag loses
 * the tag but stays; an untagged entry of the same manifest is replaced; else `entry` is appended.
 */
function withManifest(manifests: Descriptor[], entry: Descriptor): Descriptor[] {
  const result = [...manifests];
  const tagged = result.findIndex((other) => refName(other) === refName(entry));
  if (tagged >= 0) result[tagged] = withoutRefName(result[tagged]!);
  const untaggedSame = result.findIndex((other) => other.digest === entry.digest && !refName(other));
  if (untaggedSame >= 0) result[untaggedSame] = entry;
  else result.push(entry);
  return result;
}

function withoutRefName(entry: Descriptor): Descriptor {
  const { [REF_NAME_ANNOTATION]: _tag, ...annotations } = entry.annotations ?? {};
  const { annotations: _all, ...rest } = entry;
  return Object.keys(annotations).length === 0 ? rest : { ...rest, annotations };
}

interface ExistingIndex {
  /** index.json as read, every field kept */
  index: Record<string, unknown>;
  manifests: Descriptor[];
}

/** The index of the layout `dir` holds; undefined when `dir` is missing or empty. */
function existingIndex(dir: string): ExistingIndex | undefined {
  if (!existsSync(dir)) return undefined;
  if (!statSync(dir).isDirectory()) throw new LayoutDirectoryError(`--out: ${dir} exists and is not a folder`);
  if (readdirSync(dir).length === 0) return undefined;
  const notLayout = (why: string) => new LayoutDirectoryError(`--out: ${dir} is not an OCI image layout (${why}); choose another --out`);
  if (!existsSync(join(dir, LAYOUT_MARKER))) throw notLayout(`no ${LAYOUT_MARKER} file`);
  const marker = readJson(join(dir, LAYOUT_MARKER));
  if (!isObject(marker) || marker.imageLayoutVersion !== LAYOUT_VERSION) {
    throw notLayout(`${LAYOUT_MARKER} is not {"imageLayoutVersion":"${LAYOUT_VERSION}"}`);
  }
  if (!existsSync(join(dir, INDEX_FILE))) throw notLayout(`no ${INDEX_FILE}`);
  const index = readJson(join(dir, INDEX_FILE));
  if (!isObject(index) || index.schemaVersion !== 2 || !Array.isArray(index.manifests) || !index.manifests.every(isDescriptor)) {
    throw notLayout(`${INDEX_FILE} is not an image index with schemaVersion 2 and a list of manifests`);
  }
  if (index.mediaType !== undefined && index.mediaType !== MEDIA_TYPES.index) {
    throw notLayout(`${INDEX_FILE} has mediaType ${JSON.stringify(index.mediaType)}`);
  }
  return { index, manifests: index.manifests };
}

/** A file's JSON; undefined when it cannot be read or is not JSON. */
function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** A blob is named by its digest: one already there with the right bytes is left as it is. */
function writeBlob(path: string, descriptor: Descriptor, bytes: Buffer): void {
  if (existsSync(path) && statSync(path).size === descriptor.size && digest(readFileSync(path)) === descriptor.digest) return;
  writeFileSync(path, bytes);
}

function refName(entry: Descriptor): string | undefined {
  return entry.annotations?.[REF_NAME_ANNOTATION];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isDescriptor(value: unknown): value is Descriptor {
  return isObject(value) && typeof value.mediaType === "string" && typeof value.digest === "string" && typeof value.size === "number";
}
