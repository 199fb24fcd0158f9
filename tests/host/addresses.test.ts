// docs/envoy-host.md §5, "Addresses read from a socket": the one rule that turns what Node gives
// for a socket's ends into the addresses Envoy holds (an IPv4 client of a dual-stack socket is
// IPv4), and the one writer of an IPv6 address Envoy holds (inet_ntop's form).
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { test } from "node:test";
import { canonicalIpText, socketEndpoints, socketIpText } from "../../host/net/ip-text.ts";

test("socketIpText: an IPv4-mapped address is the IPv4 one; any other IPv6 in inet_ntop's form; the rest as given", () => {
  const cases: Array<[string, string]> = [
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["::FFFF:10.1.2.3", "10.1.2.3"],
    ["0:0:0:0:0:ffff:c000:20a", "192.0.2.10"],
    ["::ffff:0.0.0.0", "0.0.0.0"],
    // not mapped: stays IPv6
    ["::1", "::1"],
    ["::", "::"],
    ["::127.0.0.1", "::127.0.0.1"],
    ["::fffe:7f00:1", "::fffe:7f00:1"],
    ["1::ffff:7f00:1", "1::ffff:7f00:1"],
    ["FD00:0:0::7", "fd00::7"],
    ["2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["127.0.0.1", "127.0.0.1"],
    ["", ""],
    ["@envoy-pipe", "@envoy-pipe"],
  ];
  assert.deepEqual(
    cases.map(([text]) => [text, socketIpText(text)]),
    cases,
  );
});

test("canonicalIpText: IPv6 in inet_ntop's form, an IPv4-mapped one kept IPv6; IPv4 and the rest as given", () => {
  const cases: Array<[string, string]> = [
    ["FD00:0:0::7", "fd00::7"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["::FFFF:127.0.0.1", "::ffff:127.0.0.1"],
    ["::ffff:7f00:1", "::ffff:127.0.0.1"],
    ["10.0.0.1", "10.0.0.1"],
    ["fe80::1%eth0", "fe80::1%eth0"],
    ["not an address", "not an address"],
  ];
  assert.deepEqual(
    cases.map(([text]) => [text, canonicalIpText(text)]),
    cases,
  );
});

test("socketEndpoints: the peer is the source, the local end the destination, each converted once", () => {
  const accepted = { remoteAddress: "::ffff:192.0.2.10", remotePort: 51234, localAddress: "::ffff:127.0.0.1", localPort: 18000 } as Socket;
  assert.deepEqual(socketEndpoints(accepted), {
    source: { address: "192.0.2.10", port: 51234 },
    destination: { address: "127.0.0.1", port: 18000 },
  });
  const overIpv6 = { remoteAddress: "::1", remotePort: 40000, localAddress: "::1", localPort: 18000 } as Socket;
  assert.deepEqual(socketEndpoints(overIpv6), { source: { address: "::1", port: 40000 }, destination: { address: "::1", port: 18000 } });
  // a socket already closed has no addresses
  assert.deepEqual(socketEndpoints({} as Socket), { source: { address: "", port: 0 }, destination: { address: "", port: 0 } });
});
