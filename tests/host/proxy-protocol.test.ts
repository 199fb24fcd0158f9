// docs/envoy-host.md §18: the PROXY protocol header as Envoy's proxy_protocol listener filter
// reads it (Filter::readProxyHeader, parseV1Header, parseV2Header, parseBuffer), and its stats.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ProxyProtocolListenerFilter } from "../../host/config/model.ts";
import { ProxyProtocolStats, readProxyHeader, type HeaderReading } from "../../host/net/listener/proxy-protocol.ts";
import { createStatsStore } from "../../host/stats.ts";

const FILTER: ProxyProtocolListenerFilter = {
  kind: "proxy_protocol",
  filterName: "envoy.filters.listener.proxy_protocol",
  allowRequestsWithoutProxyProtocol: false,
  disallowedVersions: [],
  statPrefix: "",
};

const read = (text: string | Uint8Array, filter: Partial<ProxyProtocolListenerFilter> = {}): HeaderReading =>
  readProxyHeader(typeof text === "string" ? Buffer.from(text, "latin1") : text, { ...FILTER, ...filter });

const ERROR_V1: HeaderReading = { state: "Error", version: "v1" };
const NOT_FOUND: HeaderReading = { state: "Error", version: null };

test("v1 TCP4 and TCP6: the line's length, and the addresses as Envoy writes them", () => {
  const line = "PROXY TCP4 192.0.2.10 127.0.0.1 51234 8099\r\n";
  assert.deepEqual(read(line + "GET / HTTP/1.1\r\n"), {
    state: "Done",
    version: "v1",
    length: line.length,
    addresses: { source: { address: "192.0.2.10", port: 51234 }, destination: { address: "127.0.0.1", port: 8099 } },
  });
  const line6 = "PROXY TCP6 2001:DB8:0:0::1 ::ffff:127.0.0.1 40000 18000\r\n";
  assert.deepEqual(read(line6), {
    state: "Done",
    version: "v1",
    length: line6.length,
    addresses: { source: { address: "2001:db8::1", port: 40000 }, destination: { address: "::ffff:127.0.0.1", port: 18000 } },
  });
});

test("v1 UNKNOWN keeps the connection's addresses, whatever follows it", () => {
  assert.deepEqual(read("PROXY UNKNOWN\r\nhello"), { state: "Done", version: "v1", length: 15, addresses: null });
  assert.deepEqual(read("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), { state: "Done", version: "v1", length: 35, addresses: null });
});

test("v1 waits for the line's end, and for more than a CRLF at the very start", () => {
  for (const partial of ["P", "PROXY TCP4 192.0.2.10 127.0", "\r\n", "\r\n\r\n\0\r\nQUI"]) {
    assert.deepEqual(read(partial), { state: "TryAgainLater", version: null }, JSON.stringify(partial));
  }
});

test("v1 lines are at most 108 bytes with their CRLF; longer, or 108 bytes without one, are refused", () => {
  const padded = (length: number) => "PROXY UNKNOWN " + "x".repeat(length - 16) + "\r\n";
  assert.equal(padded(108).length, 108);
  assert.equal(read(padded(108)).state, "Done");
  assert.deepEqual(read(padded(109)), ERROR_V1);
  assert.deepEqual(read("PROXY UNKNOWN " + "x".repeat(94)), { state: "TryAgainLater", version: null });
  assert.deepEqual(read("PROXY UNKNOWN " + "x".repeat(95)), NOT_FOUND);
});

test("bytes that are no header: refused as not found once 16 have come, as a v1 error when a short line ends", () => {
  assert.deepEqual(read("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), NOT_FOUND);
  assert.deepEqual(read("SSH-2.0-OpenSSH\r\n"), NOT_FOUND);
  assert.deepEqual(read("proxy TCP4 192.0.2.10 127.0.0.1 1 2\r\n"), NOT_FOUND);
  assert.deepEqual(read("hello\r\n"), ERROR_V1);
});

test("malformed v1 lines are refused", () => {
  const malformed = [
    "PROXY  TCP4 192.0.2.10 127.0.0.1 1 2\r\n", // two spaces: an empty part
    "PROXY TCP4 192.0.2.10 127.0.0.1 1\r\n", // a part missing
    "PROXY TCP4 192.0.2.10 127.0.0.1 1 2 3\r\n", // a part too many
    "PROXY TCP5 192.0.2.10 127.0.0.1 1 2\r\n",
    "PROXY TCP4 ::1 127.0.0.1 1 2\r\n", // an IPv6 address in a TCP4 line
    "PROXY TCP6 192.0.2.10 ::1 1 2\r\n", // an IPv4 address in a TCP6 line
    "PROXY TCP4 192.0.2.010 127.0.0.1 1 2\r\n", // a leading zero
    "PROXY TCP4 192.0.2.10 127.0.0.1 65536 2\r\n",
    "PROXY TCP4 192.0.2.10 127.0.0.1 -1 2\r\n",
    "PROXY TCP4 192.0.2.10 127.0.0.1 0x10 2\r\n",
    "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
    "PROXY\r\n",
  ];
  for (const line of malformed) assert.deepEqual(read(line), ERROR_V1, JSON.stringify(line));
});

test("v1 addresses must be unicast: not the any address, broadcast or multicast", () => {
  for (const [source, destination] of [["0.0.0.0", "127.0.0.1"], ["192.0.2.10", "255.255.255.255"], ["224.0.0.1", "127.0.0.1"], ["239.255.255.255", "127.0.0.1"]]) {
    assert.deepEqual(read(`PROXY TCP4 ${source} ${destination} 1 2\r\n`), ERROR_V1, source);
  }
  for (const [source, destination] of [["::", "::1"], ["ff02::1", "::1"]]) assert.deepEqual(read(`PROXY TCP6 ${source} ${destination} 1 2\r\n`), ERROR_V1, source);
  assert.equal(read("PROXY TCP4 223.255.255.255 240.0.0.1 1 2\r\n").state, "Done");
});

test("a port as Envoy reads it: an optional +, leading zeros; at most 65535", () => {
  const reading = read("PROXY TCP4 192.0.2.10 127.0.0.1 +080 65535\r\n");
  assert.deepEqual(reading.state === "Done" && reading.addresses, {
    source: { address: "192.0.2.10", port: 80 },
    destination: { address: "127.0.0.1", port: 65535 },
  });
});

const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/** A v2 header: version 2 and `command`, family and transport, then `body` (addresses, TLVs). */
function v2(command: number, familyTransport: number, body: number[], declared = body.length): Uint8Array {
  return Uint8Array.from([...V2_SIGNATURE, 0x20 | command, familyTransport, declared >> 8, declared & 0xff, ...body]);
}

const V4_BODY = [192, 0, 2, 10, 127, 0, 0, 1, 0xc8, 0x22, 0x1f, 0xa3]; // ports 51234, 8099

test("v2 PROXY over TCP: IPv4 and IPv6 addresses; TLVs taken off with the header", () => {
  const tlv = [0x01, 0x00, 0x02, 0x68, 0x32]; // ALPN "h2"
  const header = v2(1, 0x11, [...V4_BODY, ...tlv]);
  assert.deepEqual(read(Uint8Array.from([...header, 0x47])), {
    state: "Done",
    version: "v2",
    length: 16 + 12 + 5,
    addresses: { source: { address: "192.0.2.10", port: 51234 }, destination: { address: "127.0.0.1", port: 8099 } },
  });
  const v6 = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1, ...Array(15).fill(0), 1, 0x9c, 0x40, 0x46, 0x50];
  assert.deepEqual(read(v2(1, 0x21, v6)), {
    state: "Done",
    version: "v2",
    length: 52,
    addresses: { source: { address: "2001:db8::1", port: 40000 }, destination: { address: "::1", port: 18000 } },
  });
});

test("v2 LOCAL keeps the connection's addresses; the header is taken off whole", () => {
  assert.deepEqual(read(v2(0, 0x00, [1, 2, 3])), { state: "Done", version: "v2", length: 19, addresses: null });
});

test("v2 waits for its addresses and its TLVs", () => {
  assert.deepEqual(read(v2(1, 0x11, V4_BODY).subarray(0, 20)), { state: "TryAgainLater", version: "v2" });
  assert.deepEqual(read(v2(1, 0x11, [...V4_BODY, 0x01, 0x00, 0x02, 0x68])), { state: "Error", version: "v2" });
  assert.deepEqual(read(v2(1, 0x11, [...V4_BODY, 0x01, 0x00, 0x02, 0x68], 17)), { state: "TryAgainLater", version: "v2" });
});

test("malformed v2 headers are refused", () => {
  const ERROR_V2 = { state: "Error", version: "v2" };
  const versionThree = v2(1, 0x11, V4_BODY);
  versionThree[12] = 0x31;
  assert.deepEqual(read(versionThree), ERROR_V2);
  assert.deepEqual(read(v2(1, 0x31, Array(216).fill(0))), ERROR_V2, "AF_UNIX");
  assert.deepEqual(read(v2(1, 0x10, V4_BODY)), ERROR_V2, "transport UNSPEC");
  assert.deepEqual(read(v2(2, 0x11, V4_BODY)), ERROR_V2, "an unknown command");
  assert.deepEqual(read(v2(1, 0x11, V4_BODY, 11)), ERROR_V2, "a length shorter than the addresses");
  assert.deepEqual(read(v2(1, 0x11, [0, 0, 0, 0, ...V4_BODY.slice(4)])), ERROR_V2, "source 0.0.0.0");
});

test("disallowed_versions refuses a well-formed header of that version", () => {
  assert.deepEqual(read("PROXY UNKNOWN\r\n", { disallowedVersions: ["V1"] }), { state: "Denied", version: "v1" });
  assert.deepEqual(read(v2(0, 0, []), { disallowedVersions: ["V2"] }), { state: "Denied", version: "v2" });
});

test("allow_requests_without_proxy_protocol lets bytes that cannot begin a header through, untouched", () => {
  const allowing = { allowRequestsWithoutProxyProtocol: true };
  assert.deepEqual(read("GET / HTTP/1.1\r\n", allowing), { state: "Done", version: null, length: 0, addresses: null });
  assert.deepEqual(read("PRO", allowing), { state: "TryAgainLater", version: null });
  assert.equal(read("PROXY UNKNOWN\r\n", allowing).state, "Done");
  // a disallowed version's signature is not looked for: its bytes pass as they are
  assert.deepEqual(read("PROXY UNKNOWN\r\n", { ...allowing, disallowedVersions: ["V1"] }), { state: "Done", version: null, length: 0, addresses: null });
});

test("the stats: per version found, disallowed and malformed; not found allowed or refused; the legacy error count", () => {
  const store = createStatsStore();
  const stats = new ProxyProtocolStats(store, "");
  const prefixed = new ProxyProtocolStats(store, "edge");
  stats.count(read("PROXY UNKNOWN\r\n"));
  stats.count(read("PROXY TCP9 a b 1 2\r\n"));
  stats.count(read("PROXY UNKNOWN\r\n", { disallowedVersions: ["V1"] }));
  stats.count(read("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  stats.count(read("PROXY TCP4 192.0.2"));
  prefixed.count(read("GET /", { allowRequestsWithoutProxyProtocol: true }));
  prefixed.count(read(v2(0, 0, [])));
  assert.equal(
    store.renderText(),
    [
      "downstream_cx_proxy_proto_error: 2",
      "proxy_proto.edge.not_found_allowed: 1",
      "proxy_proto.edge.not_found_disallowed: 0",
      "proxy_proto.edge.versions.v1.disallowed: 0",
      "proxy_proto.edge.versions.v1.error: 0",
      "proxy_proto.edge.versions.v1.found: 0",
      "proxy_proto.edge.versions.v2.disallowed: 0",
      "proxy_proto.edge.versions.v2.error: 0",
      "proxy_proto.edge.versions.v2.found: 1",
      "proxy_proto.not_found_allowed: 0",
      "proxy_proto.not_found_disallowed: 1",
      "proxy_proto.versions.v1.disallowed: 1",
      "proxy_proto.versions.v1.error: 1",
      "proxy_proto.versions.v1.found: 2",
      "proxy_proto.versions.v2.disallowed: 0",
      "proxy_proto.versions.v2.error: 0",
      "proxy_proto.versions.v2.found: 0",
      "",
    ].join("\n"),
  );
});
