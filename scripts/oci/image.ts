// A Wasm module as an OCI image in the Wasm image format Istio's agent pulls: the *compat*
// variant (one application/vnd.oci.image.layer.v1.tar+gzip layer holding plugin.wasm, the
// manifest annotated module.wasm.image/variant=compat). Istio's ImageFetcher tries that variant
// first (pkg/wasm/imagefetcher.go, PrepareFetch → extractOCIStandardImage); every registry and
// client speaks its media types. Nothing in it depends on time or machine: the same module gives
// the same digests.

import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { TAR_HEADER_BYTES, tarOneFile } from "./tar.ts";

export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/** The file name Istio looks for in the layer (extractWasmPluginBinary). */
export const PLUGIN_FILE = "plugin.wasm";
/**
 * Istio's agent reads at most this many bytes of a compat layer's unpacked tar (pkg/wasm/imagefetcher.go,
 * extractWasmPluginBinary: io.LimitReader(gzip, features.MaxWasmBinarySizeBytes); 256 MiB by default,
 * ISTIO_WASM_MAX_BINARY_SIZE_BYTES from Istio 1.30). A module whose header and bytes do not fit fails
 * there as a short read.
 */
export const ISTIO_MAX_WASM_BINARY_BYTES = 256 * 1024 * 1024;
/** The largest module a compat image can carry for an agent with Istio's default limit. */
export const MAX_MODULE_BYTES = ISTIO_MAX_WASM_BINARY_BYTES - TAR_HEADER_BYTES;
const VARIANT_ANNOTATION = "module.wasm.image/variant";
/** The annotation an image layout's index.json names a manifest's tag with. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
const TITLE_ANNOTATION = "org.opencontainers.image.title";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Blob {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface WasmImage {
  layer: Blob;
  config: Blob;
  manifest: Blob;
  /** the manifest's entry in an image layout's index.json: its descriptor, annotated with the tag */
  indexEntry: Descriptor;
  /** index.json of an OCI image layout that holds this image alone */
  index: Buffer;
}

export interface WasmImageOptions {
  /** the root id the module registers, recorded as the image's title */
  rootId: string;
  /** the tag (org.opencontainers.image.ref.name) the manifest is found under in the layout */
  tag: string;
}

export function buildWasmImage(wasm: Uint8Array, options: WasmImageOptions): WasmImage {
  const tar = tarOneFile(PLUGIN_FILE, wasm);
  // gzip's header carries no file name and mtime 0 here: the compressed bytes depend on the
  // input alone.
  const layer = blob(MEDIA_TYPES.layer, gzipSync(tar, { level: 9 }));
  const config = blob(
    MEDIA_TYPES.config,
    json({
      // A proxy-wasm module runs on no OS and any host CPU: wasm32-unknown-unknown.
      architecture: "wasm",
      os: "unknown",
      config: {},
      rootfs: { type: "layers", diff_ids: [digest(tar)] },
    }),
  );
  const manifest = blob(
    MEDIA_TYPES.manifest,
    json({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: config.descriptor,
      layers: [layer.descriptor],
      annotations: { [VARIANT_ANNOTATION]: "compat", [TITLE_ANNOTATION]: options.rootId },
    }),
  );
  const indexEntry = { ...manifest.descriptor, annotations: { [REF_NAME_ANNOTATION]: options.tag } };
  const index = json({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [indexEntry] });
  return { layer, config, manifest, indexEntry, index };
}

export function digest(bytes: Uint8Array): string {
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

function blob(mediaType: string, bytes: Buffer): Blob {
  return { descriptor: { mediaType, digest: digest(bytes), size: bytes.length }, bytes };
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
