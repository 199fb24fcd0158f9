// The PROXY protocol version 1 line (haproxy's doc/proxy-protocol.txt, section 2.1): one line of
// US-ASCII before the client's first bytes, so that the upstream learns the client's address:
//
//   PROXY TCP4 <source ip> <destination ip> <source port> <destination port>\r\n
//
// TCP6 with IPv6 addresses (written as hexadecimal groups, without brackets), and the short
// `PROXY UNKNOWN\r\n` when the addresses cannot fill the line: one of them is unavailable or not an
// IP address, or the two are of different families (the line has one family for both).

import { SocketAddress, writeDecimal } from "../../assembly/kit";

// Filled in place for each line: a VM builds one line at a time.
const from = new SocketAddress();
const to = new SocketAddress();

const UNKNOWN_LINE = String.UTF8.encode("PROXY UNKNOWN\r\n");
/** The longest line is 104 bytes (haproxy's doc, 2.1). */
const LINE_SCRATCH: usize = memory.data(104);

/** Writes the ASCII of `text` at `out`; returns the address after it. */
function writeAscii(out: usize, text: string): usize {
  for (let i = 0; i < text.length; i++) store<u8>(out + i, <u8>text.charCodeAt(i));
  return out + text.length;
}

/**
 * The line for a connection from `source` to `destination`, as `source.address` and
 * `destination.address` read (empty when unavailable).
 */
export function proxyProtocolLine(source: ArrayBuffer, destination: ArrayBuffer): ArrayBuffer {
  if (!from.read(source) || !to.read(destination) || from.ip.isIpv6 != to.ip.isIpv6) return UNKNOWN_LINE;
  let out = writeAscii(LINE_SCRATCH, from.ip.isIpv6 ? "PROXY TCP6 " : "PROXY TCP4 ");
  out = from.ip.writeTo(out);
  store<u8>(out++, 0x20);
  out = to.ip.writeTo(out);
  store<u8>(out++, 0x20);
  out = writeDecimal(out, from.port);
  store<u8>(out++, 0x20);
  out = writeDecimal(out, to.port);
  out = writeAscii(out, "\r\n");
  const length = <i32>(out - LINE_SCRATCH);
  const proxyLine = new ArrayBuffer(length);
  memory.copy(changetype<usize>(proxyLine), LINE_SCRATCH, length);
  return proxyLine;
}
