// Writes a Wasm image as an OCI image layout (oci-layout, index.json, blobs/sha256/…), the
// directory form `skopeo copy oci:DIR:TAG` reads.

import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { WasmImage } from "./image.ts";

const LAYOUT_MARKER = "oci-layout";

/** A directory in the way that is not an OCI image layout: it is left alone. */
export class LayoutDirectoryError extends Error {
  override name = "LayoutDirectoryError";
}

/** Replaces `dir` with the image's layout; refuses a non-empty directory that is not a layout. */
export function writeImageLayout(dir: string, image: WasmImage): void {
  if (existsSync(dir)) {
    if (readdirSync(dir).length > 0 && !existsSync(join(dir, LAYOUT_MARKER))) {
      throw new LayoutDirectoryError(`${dir} exists and is not an OCI image layout; choose another --out`);
    }
    // The old layout goes, so that no blob of a previous build lingers beside the new ones.
    rmSync(dir, { recursive: true });
  }
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  for (const { descriptor, bytes } of [image.layer, image.config, image.manifest]) {
    writeFileSync(join(blobs, descriptor.digest.slice("sha256:".length)), bytes);
  }
  writeFileSync(join(dir, "index.json"), image.index);
  writeFileSync(join(dir, LAYOUT_MARKER), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
}
