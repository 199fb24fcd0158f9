// Envoy metadata: `filter_metadata.<namespace>` of the upstream cluster or host, read from the
// current property name (Envoy >= 1.25) with the pre-1.33 name as fallback, written into log lines.

import { WasmResultValues } from "@solo-io/proxy-runtime/runtime";
import { escapeBytes } from "./escape";
import { resultName } from "./host";
import * as line from "./logline";
import { decodePairs, fitsEntryCount, readProperty } from "./properties";

/** Where to read one kind of metadata for one namespace: both property names, paths encoded once. */
export class MetadataSource {
  /** the property names for the log, e.g. `xds.cluster_metadata` */
  currentName: string;
  legacyName: string;
  /** `<property>\0filter_metadata\0<namespace>` in UTF-8 */
  currentPath: ArrayBuffer;
  legacyPath: ArrayBuffer;

  constructor(currentName: string, currentPath: string, legacyName: string, namespace: string) {
    this.currentName = currentName;
    this.legacyName = legacyName;
    this.currentPath = String.UTF8.encode(currentPath + "\0filter_metadata\0" + namespace);
    this.legacyPath = String.UTF8.encode(legacyName + "\0filter_metadata\0" + namespace);
  }
}

/**
 * The metadata namespace of a configuration and what reading it needs, built when the plugin is
 * configured rather than per connection. Only the paths are kept, never metadata values: those
 * can change with any xDS update.
 */
export class MetadataNamespace {
  /** the namespace escaped for log lines */
  shown: string;
  cluster: MetadataSource;
  host: MetadataSource;

  constructor(namespace: string) {
    this.shown = escapeBytes(String.UTF8.encode(namespace));
    this.cluster = new MetadataSource("xds.cluster_metadata", "xds\0cluster_metadata", "cluster_metadata", namespace);
    this.host = new MetadataSource("xds.upstream_host_metadata", "xds\0upstream_host_metadata", "upstream_host_metadata", namespace);
  }
}

export class MetadataEntry {
  /** escaped */
  key: string;
  /** as the host encoded it */
  value: ArrayBuffer;

  constructor(key: string, value: ArrayBuffer) {
    this.key = key;
    this.value = value;
  }
}

/** What was found under `filter_metadata.<namespace>`. */
export class FilterMetadata {
  source: MetadataSource;
  currentResult: WasmResultValues = WasmResultValues.Ok;
  /** whether the legacy name was read too, because the current one was NotFound */
  triedLegacy: bool = false;
  legacyResult: WasmResultValues = WasmResultValues.Ok;
  found: bool = false;
  /** why the value found is not a map; empty when it is */
  malformed: string = "";
  /** sorted by key */
  entries: MetadataEntry[] = [];

  constructor(source: MetadataSource) {
    this.source = source;
  }

  /** Appends the names tried and their results, e.g. `xds.cluster_metadata: NotFound, cluster_metadata: NotFound`. */
  appendAttempts(): void {
    line.text(this.source.currentName);
    line.text(": ");
    line.text(resultName(this.currentResult));
    if (this.triedLegacy) {
      line.text(", ");
      line.text(this.source.legacyName);
      line.text(": ");
      line.text(resultName(this.legacyResult));
    }
  }
}

// String#localeCompare in AssemblyScript 0.17 orders by length first: compare with < instead.
function byKey(a: MetadataEntry, b: MetadataEntry): i32 {
  if (a.key == b.key) return 0;
  return a.key < b.key ? -1 : 1;
}

/**
 * Appends a metadata value. Maps arrive in the pairs encoding and lists as pairs with empty
 * values, so a nested value is shown as `{key: value, ...}` in the order the host encoded it, an
 * entry with an empty value as its key alone (the list [a, b] reads `{a, b}`). Anything else is
 * shown as its escaped bytes (a number arrives as the 8 bytes of a double).
 */
export function appendMetadataValue(value: ArrayBuffer): void {
  if (!fitsEntryCount(value)) {
    line.escaped(value);
    return;
  }
  const nested = decodePairs(value);
  if (nested.error.length > 0) {
    line.escaped(value);
    return;
  }
  line.text("{");
  for (let i = 0; i < nested.pairs.length; i++) {
    const pair = nested.pairs[i];
    if (i > 0) line.text(", ");
    line.escaped(pair.key);
    if (pair.value.byteLength > 0) {
      line.text(": ");
      appendMetadataValue(pair.value);
    }
  }
  line.text("}");
}

/**
 * Reads `<current>.filter_metadata.<namespace>`, and `<legacy>.filter_metadata.<namespace>` when
 * the current name is NotFound (Envoy <= 1.24 knows only the legacy names, >= 1.33 only the
 * current ones). The entries, escaped and sorted, are only for info lines: without `withEntries`
 * the value is still decoded, to tell found from malformed, but no entry is kept.
 */
export function readFilterMetadata(source: MetadataSource, withEntries: bool): FilterMetadata {
  const metadata = new FilterMetadata(source);
  let read = readProperty(source.currentPath);
  metadata.currentResult = read.result;
  if (read.result == WasmResultValues.NotFound) {
    read = readProperty(source.legacyPath);
    metadata.triedLegacy = true;
    metadata.legacyResult = read.result;
  }
  if (!read.ok) return metadata;
  metadata.found = true;
  const decoded = decodePairs(read.bytes);
  if (decoded.error.length > 0) {
    metadata.malformed = decoded.error;
    return metadata;
  }
  if (!withEntries) return metadata;
  for (let i = 0; i < decoded.pairs.length; i++) {
    const pair = decoded.pairs[i];
    metadata.entries.push(new MetadataEntry(escapeBytes(pair.key), pair.value));
  }
  metadata.entries.sort(byKey);
  return metadata;
}
