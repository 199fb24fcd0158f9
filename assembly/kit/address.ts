// IP addresses as bytes, parsed from text and written back in their canonical form, and socket
// addresses as Envoy writes them in `source.address`, `destination.address` and
// `upstream.address`: `ip:port`, an IPv6 address in brackets (`[::1]:4660`, docs/envoy-host.md §5).

const DOT: i32 = 0x2e;
const COLON: i32 = 0x3a;

export class IpAddress {
  /** 4 bytes for IPv4, 16 for IPv6, in network order */
  bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  get isIpv6(): bool {
    return this.bytes.length == 16;
  }

  /**
   * IPv4 as four decimals (`10.0.0.1`); IPv6 as RFC 5952 puts it: lowercase hexadecimal groups
   * without leading zeros, the longest run of two or more zero groups (the first, on a tie) as
   * `::`, and never an embedded IPv4 form (so `::ffff:a00:1`, which the PROXY protocol's
   * "series of hexadecimal groups" asks for too).
   */
  toString(): string {
    const bytes = this.bytes;
    if (!this.isIpv6) {
      return bytes[0].toString() + "." + bytes[1].toString() + "." + bytes[2].toString() + "." + bytes[3].toString();
    }
    let runStart = -1;
    let runLength = 0;
    for (let i = 0; i < 8;) {
      if (group(bytes, i) != 0) {
        i++;
        continue;
      }
      let end = i;
      while (end < 8 && group(bytes, end) == 0) end++;
      if (end - i > runLength) {
        runStart = i;
        runLength = end - i;
      }
      i = end;
    }
    if (runLength < 2) runStart = -1;
    let text = "";
    for (let i = 0; i < 8; i++) {
      if (i == runStart) {
        text += "::";
        i += runLength - 1;
        continue;
      }
      if (text.length > 0 && !text.endsWith(":")) text += ":";
      text += (<u32>group(bytes, i)).toString(16);
    }
    return text;
  }
}

function group(bytes: Uint8Array, index: i32): u16 {
  return (<u16>bytes[2 * index] << 8) | <u16>bytes[2 * index + 1];
}

function byteAt(text: ArrayBuffer, index: i32): i32 {
  return <i32>load<u8>(changetype<usize>(text) + index);
}

function digitValue(byte: i32): i32 {
  return byte >= 0x30 && byte <= 0x39 ? byte - 0x30 : -1;
}

function hexDigitValue(byte: i32): i32 {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}

/**
 * A decimal number from `start` to `end` (not included) with no sign and no leading zero (`0`
 * itself is fine: `010` could be read as octal elsewhere), at most `max`; -1 if it is not one.
 */
export function parseDecimal(text: ArrayBuffer, start: i32, end: i32, max: i32): i32 {
  if (start >= end || end - start > 10 || (end - start > 1 && byteAt(text, start) == 0x30)) return -1;
  let value: i64 = 0;
  for (let i = start; i < end; i++) {
    const digit = digitValue(byteAt(text, i));
    if (digit < 0) return -1;
    value = value * 10 + digit;
  }
  return value <= <i64>max ? <i32>value : -1;
}

/** Four decimals 0-255 separated by dots, written into `out` from `at`; false if it is not one. */
function parseIpv4Into(text: ArrayBuffer, start: i32, end: i32, out: Uint8Array, at: i32): bool {
  let partStart = start;
  for (let part = 0; part < 4; part++) {
    let partEnd = partStart;
    while (partEnd < end && byteAt(text, partEnd) != DOT) partEnd++;
    if ((part < 3) != (partEnd < end)) return false; // three dots, no more
    const value = parseDecimal(text, partStart, partEnd, 255);
    if (value < 0) return false;
    out[at + part] = <u8>value;
    partStart = partEnd + 1;
  }
  return true;
}

/**
 * Up to eight groups of one to four hexadecimal digits separated by colons, one `::` standing for
 * the zero groups it leaves out, the last two groups possibly written as an IPv4 address. No zone
 * (`%eth0`): a zone is not part of an address a filter compares or forwards.
 */
function parseIpv6(text: ArrayBuffer, start: i32, end: i32): Uint8Array | null {
  const bytes = new Uint8Array(16);
  let groups = 0;
  let gapAt = -1;
  let position = start;
  if (end - start >= 2 && byteAt(text, start) == COLON && byteAt(text, start + 1) == COLON) {
    gapAt = 0;
    position += 2;
  }
  while (position < end) {
    let groupEnd = position;
    let value = 0;
    while (groupEnd < end && groupEnd - position < 5) {
      const digit = hexDigitValue(byteAt(text, groupEnd));
      if (digit < 0) break;
      value = (value << 4) | digit;
      groupEnd++;
    }
    if (groupEnd < end && byteAt(text, groupEnd) == DOT) {
      // an IPv4 tail takes the last two groups
      if (groups > 6 || !parseIpv4Into(text, position, end, bytes, 2 * groups)) return null;
      groups += 2;
      position = end;
      break;
    }
    const digits = groupEnd - position;
    if (digits == 0 || digits > 4 || groups == 8) return null;
    bytes[2 * groups] = <u8>(value >> 8);
    bytes[2 * groups + 1] = <u8>value;
    groups++;
    position = groupEnd;
    if (position == end) break;
    if (byteAt(text, position) != COLON) return null;
    position++;
    if (position < end && byteAt(text, position) == COLON) {
      if (gapAt >= 0) return null; // a second ::
      gapAt = groups;
      position++;
    } else if (position == end) {
      return null; // a trailing single colon
    }
  }
  if (gapAt < 0) {
    if (groups < 8) return null;
    return bytes;
  }
  if (groups > 7) return null; // :: stands for one group at least
  // Move the groups after the gap to the end; the gap is zeros.
  const tail = 2 * (groups - gapAt);
  for (let i = 1; i <= tail; i++) {
    bytes[16 - i] = bytes[2 * groups - i];
    bytes[2 * groups - i] = 0;
  }
  return bytes;
}

/** An IPv4 or IPv6 address from `start` to `end` of `text` (UTF-8), or null. */
export function parseIpRange(text: ArrayBuffer, start: i32, end: i32): IpAddress | null {
  for (let i = start; i < end; i++) {
    if (byteAt(text, i) == COLON) {
      const ipv6 = parseIpv6(text, start, end);
      if (ipv6 === null) return null;
      return new IpAddress(ipv6);
    }
  }
  const ipv4 = new Uint8Array(4);
  if (!parseIpv4Into(text, start, end, ipv4, 0)) return null;
  return new IpAddress(ipv4);
}

export class SocketAddress {
  ip: IpAddress;
  port: i32;

  constructor(ip: IpAddress, port: i32) {
    this.ip = ip;
    this.port = port;
  }
}

/**
 * `10.0.0.1:4660` or `[::1]:4660`, as Envoy writes a socket address; null for anything else
 * (a pipe's path, an address without a port).
 */
export function parseSocketAddress(text: ArrayBuffer): SocketAddress | null {
  const size = text.byteLength;
  let colon = size - 1;
  while (colon >= 0 && byteAt(text, colon) != COLON) colon--;
  if (colon < 0) return null;
  const port = parseDecimal(text, colon + 1, size, 65535);
  if (port < 0) return null;
  let ip: IpAddress | null;
  if (colon >= 2 && byteAt(text, 0) == 0x5b && byteAt(text, colon - 1) == 0x5d) { // [ ]
    ip = parseIpRange(text, 1, colon - 1);
    if (ip !== null && !ip.isIpv6) return null;
  } else {
    ip = parseIpRange(text, 0, colon);
    if (ip !== null && ip.isIpv6) return null; // an IPv6 address needs its brackets
  }
  if (ip === null) return null;
  return new SocketAddress(ip, port);
}
