// The property tree a context can read with proxy_get_property (docs/envoy-host.md §5), and the
// encoding of its values: strings raw, integers and doubles 8 bytes little-endian, bools one
// byte, maps (Struct included) as pairs, the metadata messages as protobuf binary.

import protobuf from "protobufjs";
import { WasmResult } from "./abi.ts";
import type { JsonObject, JsonValue, WasmFilterConfig } from "../config/model.ts";
import { encodePairs, type Pair } from "./pairs.ts";
import type { ClusterInfo, ConnectionInfo, Endpoint, PropertyNames, UpstreamHostInfo } from "./contract.ts";
import { formatAddress } from "../address.ts";

/** What a connection context knows of its connection; `info` fills in as tcp_proxy learns it. */
export interface ConnectionFacts {
  info: ConnectionInfo;
  /** Envoy's connection id (property connection.id) */
  connectionId: bigint;
}

export interface PropertyScope {
  plugin: WasmFilterConfig;
  names: PropertyNames;
  /** absent for a root context */
  connection?: ConnectionFacts;
}

/** An envoy.config.core.v3.Metadata message: its fields can be walked, the whole is protobuf binary. */
class MetadataMessage {
  constructor(readonly json: JsonObject) {}
}

type PropertyValue = JsonValue | bigint | MetadataMessage | { [key: string]: PropertyValue };
type PropertyMap = { [key: string]: PropertyValue };

const encoder = new TextEncoder();

/**
 * Encodings of metadata sub-trees (maps and lists), by object. Metadata is configuration: the
 * network side builds it once, hands the same sub-trees for every connection to a cluster or
 * host, and never changes them.
 */
const metadataEncodings = new WeakMap<object, Uint8Array | WasmResult>();

/**
 * Paths split into segments, by path. A module reads the same few paths for every connection:
 * this lookup costs less than splitting, and V8 finds segments that were property keys before
 * faster than new strings. Emptied when full, so that ever new paths cannot grow it without bound.
 */
const pathSegments = new Map<string, readonly string[]>();
const MAX_CACHED_PATHS = 1024;

/** The property at `path` (segments joined by NUL), encoded; or the WasmResult of a miss. */
export function readProperty(scope: PropertyScope, path: string): Uint8Array | WasmResult {
  const segments = segmentsOf(path);
  let value = topLevel(scope, segments[0]);
  let inMetadata = false;
  for (let i = 1; i < segments.length && value !== undefined; i++) {
    inMetadata ||= value instanceof MetadataMessage;
    value = child(value, segments[i]);
  }
  if (value === undefined) return WasmResult.NotFound;
  if (!inMetadata || value === null || typeof value !== "object") return serialize(value);
  let encoded = metadataEncodings.get(value);
  if (encoded === undefined) {
    encoded = serialize(value);
    metadataEncodings.set(value, encoded);
  }
  return encoded;
}

function segmentsOf(path: string): readonly string[] {
  const cached = pathSegments.get(path);
  if (cached !== undefined) return cached;
  const segments = path.split("\0");
  if (segments.length > 1 && segments[segments.length - 1] === "") segments.pop();
  if (pathSegments.size >= MAX_CACHED_PATHS) pathSegments.clear();
  pathSegments.set(path, segments);
  return segments;
}

function topLevel(scope: PropertyScope, name: string): PropertyValue | undefined {
  const { plugin, connection } = scope;
  switch (name) {
    case "plugin_name":
      return plugin.name;
    case "plugin_root_id":
      return plugin.rootId;
    case "plugin_vm_id":
      return plugin.vmId;
  }
  if (connection === undefined) return undefined;
  const { info, connectionId } = connection;
  const { cluster, upstream } = info;
  switch (name) {
    case "source":
      return info.source && endpoint(info.source);
    case "destination":
      return info.destination && endpoint(info.destination);
    case "connection":
      return { id: connectionId };
    case "connection_id":
      return connectionId;
    case "upstream":
      return upstream && endpoint(upstream.address);
  }
  const xds = upstreamFacts(cluster, upstream);
  if (scope.names === "current") return name === "xds" ? xds : undefined;
  return Object.hasOwn(xds, name) ? xds[name] : undefined;
}

/** xds.* since Envoy 1.25; the same names at the top level up to 1.32. */
function upstreamFacts(cluster?: ClusterInfo, upstream?: UpstreamHostInfo): PropertyMap {
  const facts: PropertyMap = {};
  if (cluster) {
    facts.cluster_name = cluster.name;
    facts.cluster_metadata = new MetadataMessage(cluster.metadata);
  }
  if (upstream) facts.upstream_host_metadata = new MetadataMessage(upstream.metadata);
  return facts;
}

// Envoy prints an IPv6 address in brackets: `[::1]:4660`.
function endpoint(e: Endpoint): PropertyMap {
  return { address: formatAddress(e.address, e.port), port: BigInt(e.port) };
}

function child(value: PropertyValue, key: string): PropertyValue | undefined {
  const fields = value instanceof MetadataMessage ? value.json : value;
  if (fields === null || typeof fields !== "object" || Array.isArray(fields)) return undefined;
  return Object.hasOwn(fields, key) ? (fields as PropertyMap)[key] : undefined;
}

function serialize(value: PropertyValue): Uint8Array | WasmResult {
  if (value === null) return WasmResult.SerializationFailure;
  switch (typeof value) {
    case "string":
      return encodeString(value);
    case "bigint":
      return littleEndian((view) => view.setBigInt64(0, value, true));
    case "number":
      return littleEndian((view) => view.setFloat64(0, value, true));
    case "boolean":
      return Uint8Array.of(value ? 1 : 0);
  }
  if (value instanceof MetadataMessage) return encodeMetadata(value.json);
  const pairs: Pair[] = [];
  if (Array.isArray(value)) {
    for (const element of value) {
      const bytes = serialize(element);
      if (typeof bytes === "number") return bytes;
      pairs.push([bytes, new Uint8Array(0)]);
    }
  } else {
    for (const [key, element] of Object.entries(value)) {
      const bytes = serialize(element);
      if (typeof bytes === "number") return bytes;
      pairs.push([encodeString(key), bytes]);
    }
  }
  return encodePairs(pairs);
}

/** UTF-8; TextEncoder costs several times more than this loop for short ASCII strings, the usual ones. */
function encodeString(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return encoder.encode(text);
    out[i] = code;
  }
  return out;
}

function littleEndian(write: (view: DataView) => void): Uint8Array {
  const out = new Uint8Array(8);
  write(new DataView(out.buffer));
  return out;
}

// ---------------------------------------------------------------- Metadata as protobuf binary

const METADATA_PROTO = `
  syntax = "proto3";
  package envoy.config.core.v3;
  message Metadata { map<string, google.protobuf.Struct> filter_metadata = 1; }
`;
const metadataRoot = protobuf.Root.fromJSON(protobuf.common.get("google/protobuf/struct.proto")!);
protobuf.parse(METADATA_PROTO, metadataRoot, { keepCase: true });
const metadataType = metadataRoot.lookupType("envoy.config.core.v3.Metadata");

function encodeMetadata(metadata: JsonObject): Uint8Array {
  const filterMetadata = (metadata.filter_metadata ?? {}) as JsonObject;
  const fields: Record<string, unknown> = {};
  for (const [namespace, struct] of Object.entries(filterMetadata)) fields[namespace] = toStruct(struct as JsonObject);
  return metadataType.encode(metadataType.fromObject({ filter_metadata: fields })).finish();
}

function toStruct(json: JsonObject): unknown {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) fields[key] = toValue(value);
  return { fields };
}

function toValue(value: JsonValue): unknown {
  if (value === null) return { nullValue: 0 };
  if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
  switch (typeof value) {
    case "number":
      return { numberValue: value };
    case "string":
      return { stringValue: value };
    case "boolean":
      return { boolValue: value };
    default:
      return { structValue: toStruct(value) };
  }
}
