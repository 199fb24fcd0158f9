// The PROXY protocol version 1 line (haproxy's doc/proxy-protocol.txt, section 2.1): one line of
// US-ASCII before the client's first bytes, so that the upstream learns the client's address:
//
//   PROXY TCP4 <source ip> <destination ip> <source port> <destination port>\r\n
//
// TCP6 with IPv6 addresses (written as hexadecimal groups, without brackets), and the short
// `PROXY UNKNOWN\r\n` when the addresses cannot fill the line: one of them is unavailable or not an
// IP address, or the two are of different families (the line has one family for both).

import { parseSocketAddress } from "../kit/address";
import { HostBytes } from "../kit/host";

const UNKNOWN_LINE = String.UTF8.encode("PROXY UNKNOWN\r\n");

/** The line for a connection from `source` to `destination`, as `source.address` and `destination.address` read. */
export function proxyProtocolLine(source: HostBytes, destination: HostBytes): ArrayBuffer {
  // A failed read holds no bytes, which are no address.
  const from = parseSocketAddress(source.bytes);
  const to = parseSocketAddress(destination.bytes);
  if (from === null || to === null || from.ip.isIpv6 != to.ip.isIpv6) return UNKNOWN_LINE;
  return String.UTF8.encode(
    "PROXY " + (from.ip.isIpv6 ? "TCP6 " : "TCP4 ") + from.ip.toString() + " " + to.ip.toString() + " " +
      from.port.toString() + " " + to.port.toString() + "\r\n",
  );
}
