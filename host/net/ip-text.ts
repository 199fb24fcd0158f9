// IP addresses as text, read strictly and written as Envoy writes them: IPv4 as inet_pton takes
// it (four decimal parts, no leading zero) and IPv6 as inet_ntop prints it (lower case, the
// longest run of zero groups as `::`, an IPv4-mapped or -compatible address with its last 32 bits
// dotted), which is what an address parsed from a PROXY header becomes in Envoy
// (Network::Address::Ipv6Instance, docs/envoy-host.md §18); and a socket's address as Envoy holds
// it, an IPv4 client of a dual-stack socket as IPv4 (§5).

import { isIPv4, isIPv6, type Socket } from "node:net";
import type { Endpoint } from "../wasm/api.ts";

/** `a.b.c.d` from 4 bytes. */
export function ipv4Text(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join(".");
}

/** IPv6 text in inet_ntop's form, from 16 bytes. */
export function ipv6Text(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  // the longest run of two or more zero groups, the first of equal ones
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > best.length && end - i >= 2) best = { start: i, length: end - i };
    i = end;
  }
  // ::a.b.c.d (compatible) and ::ffff:a.b.c.d (mapped), as glibc's inet_ntop writes them
  const dottedTail = best.start === 0 && (best.length === 6 || (best.length === 5 && groups[5] === 0xffff));
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (i === best.start) {
      parts.push(i === 0 ? ":" : "");
      i += best.length - 1;
      if (i === 7) parts.push("");
      continue;
    }
    if (dottedTail && i === 6) {
      parts.push(ipv4Text(bytes.subarray(12, 16)));
      break;
    }
    parts.push(groups[i].toString(16));
  }
  return parts.join(":");
}

/** The 4 bytes of a strict dotted IPv4 address, or null. */
export function parseIpv4(text: string): Uint8Array | null {
  return isIPv4(text) ? Uint8Array.from(text.split(".").map(Number)) : null;
}

/** The 16 bytes of an IPv6 address (an embedded IPv4 tail included), or null; zone ids are refused. */
export function parseIpv6(text: string): Uint8Array | null {
  if (text.includes("%") || !isIPv6(text)) return null;
  // a dotted IPv4 tail is two groups
  const tailStart = text.lastIndexOf(":") + 1;
  const v4 = text.slice(tailStart).includes(".") ? parseIpv4(text.slice(tailStart)) : undefined;
  if (v4 === null) return null;
  const body = v4 === undefined ? text : `${text.slice(0, tailStart)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  const halves = body.split("::");
  const groupsOf = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const front = groupsOf(halves[0]);
  const back = halves.length === 2 ? groupsOf(halves[1]) : [];
  const groups = [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/**
 * An IP address as Envoy writes one it holds: IPv6 in inet_ntop's form (`FD00:0:0::7` is
 * `fd00::7`; `::ffff:a.b.c.d` stays IPv6, as an address from configuration or a PROXY header does);
 * IPv4, and text that is no IP address (a pipe), as given.
 */
export function canonicalIpText(text: string): string {
  const bytes = parseIpv6(text);
  return bytes === null ? text : ipv6Text(bytes);
}

/** ::ffff:0:0/96, the IPv4-mapped IPv6 addresses (RFC 4291 §2.5.5.2). */
function isIpv4Mapped(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * The address of a socket's end as Envoy holds it, from the text Node gives for it
 * (`remoteAddress`, `localAddress`). An IPv4-mapped IPv6 address only comes from a socket that is
 * not v6only, serving an IPv4 client, and Envoy's addressFromSockAddr makes it the IPv4 address
 * (docs/envoy-host.md §5): `::ffff:127.0.0.1` is `127.0.0.1`. Any other address as canonicalIpText.
 */
export function socketIpText(text: string): string {
  const bytes = parseIpv6(text);
  if (bytes === null) return text;
  return isIpv4Mapped(bytes) ? ipv4Text(bytes.subarray(12, 16)) : ipv6Text(bytes);
}

/**
 * A connected socket's client (source) and the address it reached (destination), as Envoy's
 * listener takes them from accept and getsockname: an IPv4 client of a dual-stack socket is IPv4
 * (docs/envoy-host.md §5).
 */
export function socketEndpoints(socket: Socket): { source: Endpoint; destination: Endpoint } {
  return {
    source: { address: socketIpText(socket.remoteAddress ?? ""), port: socket.remotePort ?? 0 },
    destination: { address: socketIpText(socket.localAddress ?? ""), port: socket.localPort ?? 0 },
  };
}
