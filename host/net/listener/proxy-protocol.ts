// Envoy's envoy.filters.listener.proxy_protocol (docs/envoy-host.md §18): the PROXY protocol
// header a client sends ahead of its bytes, v1 (a text line) or v2 (binary), read as Envoy's
// Filter::readProxyHeader and parseBuffer read it — from the bytes received so far, each time
// more arrive — with its stats. A header that is well formed gives the connection its addresses;
// anything else closes the socket.

import type { ProxyProtocolListenerFilter } from "../../config/model.ts";
import type { StatsStore } from "../../stats.ts";
import type { Endpoint } from "../../wasm/api.ts";
import { Stat } from "../envoy-stats.ts";
import { ipv4Text, ipv6Text, parseIpv4, parseIpv6 } from "../ip-text.ts";

export type HeaderVersion = "v1" | "v2";

/** The client's address and the one it reached, as the header states them. */
export interface HeaderAddresses {
  source: Endpoint;
  destination: Endpoint;
}

/**
 * Envoy's ReadOrParseState, with the version found (null: none, Envoy's NotFound): wait for more
 * bytes, close the socket (a malformed header, or a version disallowed), or go on with `length`
 * bytes of header taken off and, for a PROXY header, its addresses (none for UNKNOWN and LOCAL,
 * which keep the connection's own).
 */
export type HeaderReading =
  | { state: "TryAgainLater"; version: HeaderVersion | null }
  | { state: "Error"; version: HeaderVersion | null }
  | { state: "Denied"; version: HeaderVersion }
  | { state: "Done"; version: HeaderVersion | null; length: number; addresses: HeaderAddresses | null };

const V1_SIGNATURE = Buffer.from("PROXY ");
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** The fixed part of a v2 header: signature, version and command, family and transport, length. */
const V2_HEADER_LENGTH = 16;
/** A v1 line, CRLF included, is at most this long (Envoy's MAX_PROXY_PROTO_LEN_V1). */
export const MAX_V1_LENGTH = 108;
const V2_ADDRESS_LENGTH = { inet: 12, inet6: 36 };
const V2_COMMAND = { local: 0x0, proxy: 0x1 };
const V2_FAMILY = { inet: 0x1, inet6: 0x2 };
const V2_TRANSPORT = { stream: 0x1, dgram: 0x2 };

/** The header at the start of `data` (the bytes received so far), as Envoy reads it. */
export function readProxyHeader(data: Uint8Array, config: ProxyProtocolListenerFilter): HeaderReading {
  const v1Allowed = !config.disallowedVersions.includes("V1");
  const v2Allowed = !config.disallowedVersions.includes("V2");
  if (config.allowRequestsWithoutProxyProtocol) {
    const maybeV2 = v2Allowed && startsLike(data, V2_SIGNATURE);
    const maybeV1 = v1Allowed && startsLike(data, V1_SIGNATURE);
    // Not a header so far: the bytes go on as they are.
    if (!maybeV2 && !maybeV1) return { state: "Done", version: null, length: 0, addresses: null };
  }
  let version: HeaderVersion | null = null;
  if (data.length >= V2_HEADER_LENGTH) {
    if (startsWith(data, V2_SIGNATURE)) version = "v2";
    // neither version: "failed to read proxy protocol (exceed max v1 header len)"
    else if (!startsWith(data, V1_SIGNATURE)) return { state: "Error", version: null };
  }
  if (version === "v2") return v2Allowed ? readV2(data) : { state: "Denied", version: "v2" };

  // v1: the line ends at the first CRLF after the first byte; one at the very start could still
  // be the v2 signature's, so more bytes are awaited.
  let lineLength: number | null = null;
  let searched = data.length;
  for (let i = 1; i < data.length; i++) {
    if (data[i] !== 0x0a || data[i - 1] !== 0x0d) continue;
    if (i > 1) lineLength = i + 1;
    else searched = 1;
    break;
  }
  if ((lineLength ?? searched) > MAX_V1_LENGTH) return { state: "Error", version: lineLength === null ? null : "v1" };
  if (lineLength === null) return { state: "TryAgainLater", version: null };
  if (!v1Allowed) return { state: "Denied", version: "v1" };
  const addresses = readV1Line(Buffer.from(data.subarray(0, lineLength)).toString("latin1"));
  if (addresses === undefined) return { state: "Error", version: "v1" };
  return { state: "Done", version: "v1", length: lineLength, addresses };
}

/**
 * `PROXY TCP4|TCP6 <source> <destination> <source port> <destination port>` or `PROXY UNKNOWN ...`
 * (Filter::parseV1Header): null for UNKNOWN (the connection keeps its own addresses), undefined
 * for a malformed line. Trailing whitespace is trimmed and single spaces separate the parts.
 */
function readV1Line(line: string): HeaderAddresses | null | undefined {
  const parts = line.replace(/[ \t\n\v\f\r]+$/, "").split(" ");
  if (parts.length < 2 || parts[0] !== "PROXY") return undefined;
  if (parts[1] === "UNKNOWN") return null;
  if (parts.length !== 6) return undefined;
  const [, family, sourceIp, destinationIp, sourcePort, destinationPort] = parts;
  const parseIp = family === "TCP4" ? parseIpv4 : family === "TCP6" ? parseIpv6 : undefined;
  const format = family === "TCP4" ? ipv4Text : ipv6Text;
  if (parseIp === undefined) return undefined;
  const source = endpoint(parseIp(sourceIp), port(sourcePort), format);
  const destination = endpoint(parseIp(destinationIp), port(destinationPort), format);
  if (source === null || destination === null) return undefined;
  return unicast(source.address) && unicast(destination.address) ? { source, destination } : undefined;
}

/**
 * The v2 header (Filter::readProxyHeader, parseV2Header, then parseBuffer and readExtensions):
 * the command, family and addresses once they have arrived, then the whole header with its TLVs.
 * LOCAL keeps the connection's addresses and its TLVs are not read.
 */
function readV2(data: Uint8Array): HeaderReading {
  const versionAndCommand = data[12];
  if (versionAndCommand >> 4 !== 0x2) return { state: "Error", version: "v2" };
  const command = versionAndCommand & 0xf;
  const family = data[13] >> 4;
  const transport = data[13] & 0xf;
  let addressLength = 0;
  if (command !== V2_COMMAND.local) {
    if (family === V2_FAMILY.inet) addressLength = V2_ADDRESS_LENGTH.inet;
    else if (family === V2_FAMILY.inet6) addressLength = V2_ADDRESS_LENGTH.inet6;
    else return { state: "Error", version: "v2" }; // "Unsupported V2 proxy protocol address family"
  }
  const declaredLength = (data[14] << 8) | data[15];
  if (declaredLength < addressLength) return { state: "Error", version: "v2" };
  if (data.length < V2_HEADER_LENGTH + addressLength) return { state: "TryAgainLater", version: "v2" };
  const length = V2_HEADER_LENGTH + declaredLength;
  if (command === V2_COMMAND.local) {
    return data.length < length ? { state: "TryAgainLater", version: "v2" } : { state: "Done", version: "v2", length, addresses: null };
  }
  if (command !== V2_COMMAND.proxy || (transport !== V2_TRANSPORT.stream && transport !== V2_TRANSPORT.dgram)) {
    return { state: "Error", version: "v2" }; // "Unsupported command or address family or transport"
  }
  if (data.length < length) return { state: "TryAgainLater", version: "v2" };
  const ipLength = family === V2_FAMILY.inet ? 4 : 16;
  const format = family === V2_FAMILY.inet ? ipv4Text : ipv6Text;
  const at = V2_HEADER_LENGTH;
  const ports = at + 2 * ipLength;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const source = { address: format(data.subarray(at, at + ipLength)), port: view.getUint16(ports) };
  const destination = { address: format(data.subarray(at + ipLength, ports)), port: view.getUint16(ports + 2) };
  if (!tlvsWellFormed(data.subarray(at + addressLength, length))) return { state: "Error", version: "v2" };
  if (!unicast(source.address) || !unicast(destination.address)) return { state: "Error", version: "v2" };
  return { state: "Done", version: "v2", length, addresses: { source, destination } };
}

/** TLVs (type, 16-bit length, value) that fill the extensions exactly (Filter::parseTlvs). */
function tlvsWellFormed(tlvs: Uint8Array): boolean {
  let at = 0;
  while (at < tlvs.length) {
    if (at + 3 > tlvs.length) return false;
    const valueLength = (tlvs[at + 1] << 8) | tlvs[at + 2];
    at += 3 + valueLength;
    if (at > tlvs.length) return false;
  }
  return true;
}

/** A port as absl::SimpleAtoi reads it into a u64 (spaces around, an optional +), at most 65535; else null. */
function port(text: string): number | null {
  const match = /^[ \t\n\v\f\r]*\+?([0-9]+)[ \t\n\v\f\r]*$/.exec(text);
  if (match === null) return null;
  const value = Number(match[1]);
  return value <= 65535 ? value : null;
}

function endpoint(ip: Uint8Array | null, portValue: number | null, format: (bytes: Uint8Array) => string): Endpoint | null {
  return ip === null || portValue === null ? null : { address: format(ip), port: portValue };
}

/**
 * What TCP needs at both ends (Address::Ip::isUnicastAddress): not the any address, not broadcast
 * (255.255.255.255), not multicast (224.0.0.0/4, ff00::/8).
 */
function unicast(address: string): boolean {
  if (address.includes(":")) return address !== "::" && !/^ff/i.test(address);
  const first = Number(address.split(".")[0]);
  return address !== "0.0.0.0" && address !== "255.255.255.255" && !(first >= 224 && first <= 239);
}

/** `data` is a prefix of `signature`, or starts with all of it (Envoy compares min(length) bytes). */
function startsLike(data: Uint8Array, signature: Uint8Array): boolean {
  const n = Math.min(data.length, signature.length);
  for (let i = 0; i < n; i++) if (data[i] !== signature[i]) return false;
  return true;
}

function startsWith(data: Uint8Array, signature: Uint8Array): boolean {
  return data.length >= signature.length && startsLike(data, signature);
}

/**
 * The filter's stats (ProxyProtocolStats::create): under proxy_proto.[<stat_prefix>.], the
 * connections without a header let through or refused, and per version those found, refused as
 * disallowed and malformed; and, at the root and without the prefix, the legacy count of every
 * refusal for a malformed or missing header.
 */
export class ProxyProtocolStats {
  private readonly legacyError: Stat;
  private readonly notFoundAllowed: Stat;
  private readonly notFoundDisallowed: Stat;
  private readonly versions: Record<HeaderVersion, { found: Stat; disallowed: Stat; error: Stat }>;

  constructor(store: StatsStore, statPrefix: string) {
    const root = statPrefix === "" ? "proxy_proto." : `proxy_proto.${statPrefix}.`;
    this.legacyError = new Stat(store, "downstream_cx_proxy_proto_error", "counter");
    this.notFoundAllowed = new Stat(store, `${root}not_found_allowed`, "counter");
    this.notFoundDisallowed = new Stat(store, `${root}not_found_disallowed`, "counter");
    const versioned = (version: HeaderVersion) => ({
      found: new Stat(store, `${root}versions.${version}.found`, "counter"),
      disallowed: new Stat(store, `${root}versions.${version}.disallowed`, "counter"),
      error: new Stat(store, `${root}versions.${version}.error`, "counter"),
    });
    this.versions = { v1: versioned("v1"), v2: versioned("v2") };
  }

  /** Filter::onData's counting of one reading. */
  count(reading: HeaderReading): void {
    if (reading.state === "TryAgainLater") return;
    if (reading.state === "Error") this.legacyError.add(1);
    if (reading.version === null) {
      (reading.state === "Done" ? this.notFoundAllowed : this.notFoundDisallowed).add(1);
      return;
    }
    const stats = this.versions[reading.version];
    if (reading.state === "Error") return stats.error.add(1);
    stats.found.add(1);
    if (reading.state === "Denied") stats.disallowed.add(1);
  }
}
