// Envoy metadata: `filter_metadata.<namespace>` of the upstream cluster or host, read from the
// current property name (Envoy >= 1.25) with the pre-1.33 name as fallback, made into log text.

import { WasmResultValues } from "@solo-io/proxy-runtime/runtime";
import { HostBytes, resultName } from "./host";
import { decodePairs, readProperty } from "./properties";
import { escapeBytes } from "./preview";

export class MetadataEntry {
  key: string;
  value: string;

  constructor(key: string, value: string) {
    this.key = key;
    this.value = value;
  }
}

/** What was found under `filter_metadata.<namespace>`. */
export class FilterMetadata {
  /** the property names tried and their results, e.g. `xds.cluster_metadata: NotFound, cluster_metadata: NotFound` */
  attempts: string = "";
  found: bool = false;
  /** why the value found is not a map; empty when it is */
  malformed: string = "";
  /** sorted by key */
  entries: MetadataEntry[] = [];
}

/** A metadata property: its name for the log, and its path (segments joined by NUL). */
export class MetadataProperty {
  name: string;
  path: string;

  constructor(name: string, path: string) {
    this.name = name;
    this.path = path;
  }
}

export const CLUSTER_METADATA = new MetadataProperty("xds.cluster_metadata", "xds\0cluster_metadata");
export const LEGACY_CLUSTER_METADATA = new MetadataProperty("cluster_metadata", "cluster_metadata");
export const HOST_METADATA = new MetadataProperty("xds.upstream_host_metadata", "xds\0upstream_host_metadata");
export const LEGACY_HOST_METADATA = new MetadataProperty("upstream_host_metadata", "upstream_host_metadata");

function readNamespace(property: MetadataProperty, namespace: string): HostBytes {
  return readProperty(property.path + "\0filter_metadata\0" + namespace);
}

// String#localeCompare in AssemblyScript 0.17 orders by length first: compare with < instead.
function byKey(a: MetadataEntry, b: MetadataEntry): i32 {
  if (a.key == b.key) return 0;
  return a.key < b.key ? -1 : 1;
}

/**
 * A metadata value as log text. Maps arrive in the pairs encoding and lists as pairs with empty
 * values, so a nested value is shown as `{key: value, ...}` in the order the host encoded it, an
 * entry with an empty value as its key alone (the list [a, b] reads `{a, b}`). Anything else is
 * shown as its escaped bytes (a number arrives as the 8 bytes of a double).
 */
export function formatMetadataValue(value: ArrayBuffer): string {
  const nested = decodePairs(value);
  if (nested.error.length > 0) return escapeBytes(value);
  let text = "{";
  for (let i = 0; i < nested.pairs.length; i++) {
    const pair = nested.pairs[i];
    if (i > 0) text += ", ";
    text += escapeBytes(pair.key);
    if (pair.value.byteLength > 0) text += ": " + formatMetadataValue(pair.value);
  }
  return text + "}";
}

/**
 * Reads `<current>.filter_metadata.<namespace>`, and `<legacy>.filter_metadata.<namespace>` when
 * the current name is NotFound (Envoy <= 1.24 knows only the legacy names, >= 1.33 only the
 * current ones).
 */
export function readFilterMetadata(current: MetadataProperty, legacy: MetadataProperty, namespace: string): FilterMetadata {
  const metadata = new FilterMetadata();
  let read = readNamespace(current, namespace);
  metadata.attempts = current.name + ": " + resultName(read.result);
  if (read.result == WasmResultValues.NotFound) {
    read = readNamespace(legacy, namespace);
    metadata.attempts += ", " + legacy.name + ": " + resultName(read.result);
  }
  if (!read.ok) return metadata;
  metadata.found = true;
  const decoded = decodePairs(read.bytes);
  if (decoded.error.length > 0) {
    metadata.malformed = decoded.error;
    return metadata;
  }
  for (let i = 0; i < decoded.pairs.length; i++) {
    const pair = decoded.pairs[i];
    metadata.entries.push(new MetadataEntry(escapeBytes(pair.key), formatMetadataValue(pair.value)));
  }
  metadata.entries.sort(byKey);
  return metadata;
}
