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

// The helpers below take the texts as an address and a length, not as ArrayBuffers: AssemblyScript
// 0.17 counts a reference for each one passed to a function (docs/toolchain.md), and the line is
// built for every connection.

/** Copies `length` bytes from `bytes` to `out`; returns the address after them. */
function copyTo(out: usize, bytes: usize, length: i32): usize {
  memory.copy(out, bytes, length);
  return out + length;
}

/** Where the port begins in the `length` bytes of a socket address's text at `text`: after its last colon. */
function portStart(text: usize, length: i32): i32 {
  let colon = length - 1;
  while (load<u8>(text + colon) != COLON) colon--;
  return colon + 1;
}

/**
 * The line for a connection from `source` to `destination`, as `source.address` and
 * `destination.address` read (empty when unavailable). `sourceIsIpv4`: the caller has read
 * `source` as an IPv4 socket address already (SocketAddress#read), so it is not read again. The
 * line is valid until the next call.
 */
export function proxyProtocolLine(source: ArrayBuffer, destination: ArrayBuffer, sourceIsIpv4: bool = false): ArrayBuffer {
  if (!to.read(destination)) return UNKNOWN_LINE;
  if (sourceIsIpv4) {
    if (to.ip.isIpv6) return UNKNOWN_LINE;
  } else if (!from.read(source) || from.ip.isIpv6 != to.ip.isIpv6) {
    return UNKNOWN_LINE;
  }
  const sourceText = changetype<usize>(source);
  const sourceLength = source.byteLength;
  const destinationText = changetype<usize>(destination);
  const destinationLength = destination.byteLength;
  const sourcePort = portStart(sourceText, sourceLength);
  const destinationPort = portStart(destinationText, destinationLength);
  let out = LINE_SCRATCH;
  if (to.ip.isIpv6) {
    // Written as hexadecimal groups: Envoy's text may hold an embedded IPv4 form.
    out = copyTo(out, changetype<usize>(TCP6), TCP6.byteLength);
    out = from.ip.writeTo(out);
    store<u8>(out++, SPACE);
    out = to.ip.writeTo(out);
  } else {
    // An IPv4 address that SocketAddress reads is already canonical (four decimals, no leading
    // zero): its text is copied, up to the colon before the port.
    out = copyTo(out, changetype<usize>(TCP4), TCP4.byteLength);
    out = copyTo(out, sourceText, sourcePort - 1);
    store<u8>(out++, SPACE);
    out = copyTo(out, destinationText, destinationPort - 1);
  }
  // The ports, canonical once read (no sign, no leading zero), copied as written.
  store<u8>(out++, SPACE);
  out = copyTo(out, sourceText + sourcePort, sourceLength - sourcePort);
  store<u8>(out++, SPACE);
  out = copyTo(out, destinationText + destinationPort, destinationLength - destinationPort);
  store<u16>(out, 0x0a0d); // \r\n
  out += 2;
  const length = <i32>(out - LINE_SCRATCH);
  if (lastLine.byteLength != length) lastLine = new ArrayBuffer(length);
  memory.copy(changetype<usize>(lastLine), LINE_SCRATCH, length);
  return lastLine;
}
