// The PROXY protocol version 1 line (haproxy's doc/proxy-protocol.txt, section 2.1): one line of
// US-ASCII before the client's first bytes, so that the upstream learns the client's address:
//
//   PROXY TCP4 <source ip> <destination ip> <source port> <destination port>\r\n
//
// TCP6 with IPv6 addresses (written as hexadecimal groups, without brackets), and the short
// `PROXY UNKNOWN\r\n` when the addresses cannot fill the line: one of them is unavailable or not an
// IP address, or the two are of different families (the line has one family for both).

import { SocketAddress } from "../../assembly/kit";

// Filled in place for each line: a VM builds one line at a time.
const from = new SocketAddress();
const to = new SocketAddress();

const UNKNOWN_LINE = String.UTF8.encode("PROXY UNKNOWN\r\n");
const TCP4 = String.UTF8.encode("PROXY TCP4 ");
const TCP6 = String.UTF8.encode("PROXY TCP6 ");
const COLON: u8 = 0x3a;
const SPACE: u8 = 0x20;
/** The longest line is 104 bytes (haproxy's doc, 2.1). */
const LINE_SCRATCH: usize = memory.data(104);

/**
 * The last line made, handed out until the next one: its length seldom changes from one
 * connection to the next (ephemeral ports have five digits), so it is seldom allocated again.
 */
let lastLine = new ArrayBuffer(0);

/** Copies `bytes` to `out`; returns the address after them. */
function writeBytes(out: usize, bytes: ArrayBuffer): usize {
  memory.copy(out, changetype<usize>(bytes), bytes.byteLength);
  return out + bytes.byteLength;
}

/** Where the port begins in a socket address's text: after its last colon. */
function portStart(text: ArrayBuffer): i32 {
  let colon = text.byteLength - 1;
  while (load<u8>(changetype<usize>(text) + colon) != COLON) colon--;
  return colon + 1;
}

/**
 * Writes the IP address of `address`, read from `text`, at `out`; returns the address after it.
 * An IPv4 address that SocketAddress reads is already canonical (four decimals, no leading
 * zero): its text is copied. An IPv6 one is written as hexadecimal groups, as Envoy's text may
 * hold an embedded IPv4 form.
 */
function writeIp(out: usize, address: SocketAddress, text: ArrayBuffer): usize {
  if (address.ip.isIpv6) return address.ip.writeTo(out);
  const length = portStart(text) - 1;
  memory.copy(out, changetype<usize>(text), length);
  return out + length;
}

/** Copies the port of `text` to `out` (canonical once read: no sign, no leading zero); returns the address after it. */
function writePort(out: usize, text: ArrayBuffer): usize {
  const start = portStart(text);
  const length = text.byteLength - start;
  memory.copy(out, changetype<usize>(text) + start, length);
  return out + length;
}

/**
 * The line for a connection from `source` to `destination`, as `source.address` and
 * `destination.address` read (empty when unavailable). It is valid until the next call.
 */
export function proxyProtocolLine(source: ArrayBuffer, destination: ArrayBuffer): ArrayBuffer {
  if (!from.read(source) || !to.read(destination) || from.ip.isIpv6 != to.ip.isIpv6) return UNKNOWN_LINE;
  let out = writeBytes(LINE_SCRATCH, from.ip.isIpv6 ? TCP6 : TCP4);
  out = writeIp(out, from, source);
  store<u8>(out++, SPACE);
  out = writeIp(out, to, destination);
  store<u8>(out++, SPACE);
  out = writePort(out, source);
  store<u8>(out++, SPACE);
  out = writePort(out, destination);
  store<u16>(out, 0x0a0d); // \r\n
  out += 2;
  const length = <i32>(out - LINE_SCRATCH);
  if (lastLine.byteLength != length) lastLine = new ArrayBuffer(length);
  memory.copy(changetype<usize>(lastLine), LINE_SCRATCH, length);
  return lastLine;
}
