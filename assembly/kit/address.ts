// IP addresses as bytes, parsed from text and written back in their canonical form, and socket
// addresses as Envoy writes them in `source.address`, `destination.address` and
// `upstream.address`: `ip:port`, an IPv6 address in brackets (`[::1]:4660`, docs/envoy-host.md §5).

const DOT: i32 = 0x2e;
const COLON: i32 = 0x3a;

/** The most characters an address takes in text: eight groups of four hex digits and seven colons. */
const MAX_TEXT_LENGTH = 39;
const TEXT_SCRATCH: usize = memory.data(MAX_TEXT_LENGTH);

/** An IPv4 or IPv6 address, read in place from its text, compared by its bytes. */
export class IpAddress {
  /** the address in network order: the first 4 bytes for IPv4, all 16 for IPv6 */
  bytes: StaticArray<u8> = new StaticArray<u8>(16);
  isIpv6: bool = false;

  /** 4 or 16: the bytes the address has */
  get size(): i32 {
    return this.isIpv6 ? 16 : 4;
  }

  /**
   * Reads an IPv4 or IPv6 address from `start` to `end` of the text at `text` (UTF-8) into this
   * one; false if it is not one (this one is then undefined). Filling an address already there
   * spares an allocation per connection.
   */
  read(text: usize, start: i32, end: i32): bool {
    const out = changetype<usize>(this.bytes);
    for (let i = start; i < end; i++) {
      if (byteAt(text, i) == COLON) {
        this.isIpv6 = true;
        return readIpv6(text, start, end, out);
      }
    }
    this.isIpv6 = false;
    return readIpv4(text, start, end, out);
  }

  /**
   * Writes the address as ASCII at `out` and returns the address after it (at most
   * MAX_TEXT_LENGTH bytes): IPv4 as four decimals (`10.0.0.1`); IPv6 as RFC 5952 puts it:
   * lowercase hexadecimal groups without leading zeros, the longest run of two or more zero
   * groups (the first, on a tie) as `::`, and never an embedded IPv4 form (so `::ffff:a00:1`,
   * which the PROXY protocol's "series of hexadecimal groups" asks for too).
   */
  writeTo(out: usize): usize {
    const bytes = changetype<usize>(this.bytes);
    if (!this.isIpv6) {
      for (let i = 0; i < 4; i++) {
        if (i > 0) store<u8>(out++, DOT);
        out = writeDecimal(out, load<u8>(bytes + i));
      }
      return out;
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
    for (let i = 0; i < 8; i++) {
      if (i == runStart) {
        store<u8>(out++, COLON);
        store<u8>(out++, COLON);
        i += runLength - 1;
        continue;
      }
      if (i > 0 && i != runStart + runLength) store<u8>(out++, COLON);
      out = writeHex(out, group(bytes, i));
    }
    return out;
  }

  toString(): string {
    return String.UTF8.decodeUnsafe(TEXT_SCRATCH, this.writeTo(TEXT_SCRATCH) - TEXT_SCRATCH);
  }
}

/** Writes `value` in decimal at `out`; returns the address after it. */
export function writeDecimal(out: usize, value: u32): usize {
  let digits: usize = 1;
  for (let rest = value / 10; rest > 0; rest /= 10) digits++;
  for (let i = digits; i > 0; i--) {
    store<u8>(out + i - 1, <u8>(0x30 + value % 10));
    value /= 10;
  }
  return out + digits;
}

/** Writes `value` in lowercase hexadecimal without leading zeros at `out`; returns the address after it. */
function writeHex(out: usize, value: u32): usize {
  let digits: usize = 1;
  for (let rest = value >> 4; rest > 0; rest >>= 4) digits++;
  for (let i = digits; i > 0; i--) {
    const digit = value & 0xf;
    store<u8>(out + i - 1, <u8>(digit < 10 ? 0x30 + digit : 0x57 + digit));
    value >>= 4;
  }
  return out + digits;
}

/** The 16-bit group `index` (0 to 7) of the 16 bytes at `bytes`. */
function group(bytes: usize, index: i32): u32 {
  return (<u32>load<u8>(bytes + 2 * index) << 8) | <u32>load<u8>(bytes + 2 * index + 1);
}

// The parsers read the text through its address: a byte read through the ArrayBuffer would count
// a reference to it each time.
function byteAt(base: usize, index: i32): i32 {
  return <i32>load<u8>(base + index);
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
  return decimalAt(changetype<usize>(text), start, end, max);
}

function decimalAt(text: usize, start: i32, end: i32, max: i32): i32 {
  if (start >= end || end - start > 10 || (end - start > 1 && byteAt(text, start) == 0x30)) return -1;
  let value: u64 = 0;
  for (let i = start; i < end; i++) {
    const digit = <u32>(byteAt(text, i) - 0x30);
    if (digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value <= <u64>max ? <i32>value : -1;
}

/**
 * Four decimals 0-255 separated by dots, each without a leading zero (as parseDecimal), written as
 * four bytes at `out`; false if it is not one. One pass: it is read for every connection.
 */
function readIpv4(text: usize, start: i32, end: i32, out: usize): bool {
  let part = 0;
  let value: u32 = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const byte = byteAt(text, i);
    if (byte == DOT) {
      if (digits == 0 || part == 3) return false;
      store<u8>(out + part, <u8>value);
      part++;
      value = 0;
      digits = 0;
      continue;
    }
    const digit = <u32>(byte - 0x30);
    if (digit > 9 || (digits > 0 && value == 0)) return false;
    value = value * 10 + digit;
    if (value > 255) return false;
    digits++;
  }
  if (digits == 0 || part != 3) return false;
  store<u8>(out + 3, <u8>value);
  return true;
}

/**
 * Up to eight groups of one to four hexadecimal digits separated by colons, one `::` standing for
 * the zero groups it leaves out, the last two groups possibly written as an IPv4 address. No zone
 * (`%eth0`): a zone is not part of an address a filter compares or forwards. Written as 16 bytes
 * at `bytes`; false if it is not one.
 */
function readIpv6(text: usize, start: i32, end: i32, bytes: usize): bool {
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
      if (groups > 6 || !readIpv4(text, position, end, bytes + 2 * groups)) return false;
      groups += 2;
      position = end;
      break;
    }
    const digits = groupEnd - position;
    if (digits == 0 || digits > 4 || groups == 8) return false;
    store<u8>(bytes + 2 * groups, <u8>(value >> 8));
    store<u8>(bytes + 2 * groups + 1, <u8>value);
    groups++;
    position = groupEnd;
    if (position == end) break;
    if (byteAt(text, position) != COLON) return false;
    position++;
    if (position < end && byteAt(text, position) == COLON) {
      if (gapAt >= 0) return false; // a second ::
      gapAt = groups;
      position++;
    } else if (position == end) {
      return false; // a trailing single colon
    }
  }
  if (gapAt < 0) return groups == 8;
  if (groups > 7) return false; // :: stands for one group at least
  // Move the groups after the gap to the end; the gap is zeros.
  const tail = 2 * (groups - gapAt);
  for (let i = 1; i <= tail; i++) {
    store<u8>(bytes + 16 - i, load<u8>(bytes + 2 * groups - i));
    store<u8>(bytes + 2 * groups - i, 0);
  }
  // Zeros where the gap is (the bytes may hold an earlier address), up to the moved tail.
  memory.fill(bytes + 2 * gapAt, 0, 16 - tail - 2 * gapAt);
  return true;
}

/** An IPv4 or IPv6 address from `start` to `end` of `text` (UTF-8), or null. */
export function parseIpRange(text: ArrayBuffer, start: i32, end: i32): IpAddress | null {
  const ip = new IpAddress();
  if (!ip.read(changetype<usize>(text), start, end)) return null;
  return ip;
}

/** An `ip:port` or `[ip]:port` address as Envoy writes it, read in place. */
export class SocketAddress {
  ip: IpAddress = new IpAddress();
  port: i32 = 0;

  /**
   * Reads `10.0.0.1:4660` or `[::1]:4660`, as Envoy writes a socket address, into this one; false
   * for anything else (a pipe's path, an address without a port), this one then undefined.
   */
  read(bytes: ArrayBuffer): bool {
    const text = changetype<usize>(bytes);
    const size = bytes.byteLength;
    let colon = size - 1;
    while (colon >= 0 && byteAt(text, colon) != COLON) colon--;
    if (colon < 0) return false;
    const port = decimalAt(text, colon + 1, size, 65535);
    if (port < 0) return false;
    this.port = port;
    // The brackets tell the family: the address is not scanned for a colon first, as
    // IpAddress#read does (this runs for every connection).
    const ip = changetype<usize>(this.ip.bytes);
    if (colon >= 2 && byteAt(text, 0) == 0x5b && byteAt(text, colon - 1) == 0x5d) { // [ ]
      this.ip.isIpv6 = true;
      return readIpv6(text, 1, colon - 1, ip);
    }
    this.ip.isIpv6 = false;
    return readIpv4(text, 0, colon, ip); // an IPv6 address needs its brackets: its colons fail here
  }
}

/** A socket address read as SocketAddress#read reads it, or null. */
export function parseSocketAddress(text: ArrayBuffer): SocketAddress | null {
  const address = new SocketAddress();
  if (!address.read(text)) return null;
  return address;
}
