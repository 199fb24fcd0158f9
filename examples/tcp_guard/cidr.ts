// CIDR ranges of deny_sources: `10.0.0.0/8`, `::1/128`.

import { IpAddress, parseDecimal, parseIpRange } from "../../assembly/kit";

export class Cidr {
  /** the network address, host bits cleared */
  network: IpAddress;
  prefixLength: i32;
  /** the canonical form, `10.0.0.0/8`: made once, for the log */
  private text: string;
  /** the same as UTF-8, made the first time a log line needs it (a long list has few in the log) */
  private encoded: ArrayBuffer | null = null;

  constructor(network: IpAddress, prefixLength: i32) {
    this.network = network;
    this.prefixLength = prefixLength;
    this.text = network.toString() + "/" + prefixLength.toString();
  }

  /**
   * Whether `ip` is in the range. An IPv4 address is never in an IPv6 range, nor the reverse
   * (Envoy's CidrRange::isInRange compares the versions first).
   */
  contains(ip: IpAddress): bool {
    if (ip.isIpv6 != this.network.isIpv6) return false;
    // Through the addresses: indexing the arrays would count references byte by byte.
    const network = changetype<usize>(this.network.bytes);
    const bytes = changetype<usize>(ip.bytes);
    const whole = this.prefixLength >> 3;
    if (memory.compare(bytes, network, whole) != 0) return false;
    const bits = this.prefixLength & 7;
    if (bits == 0) return true;
    const mask = <u8>(<i32>0xff00 >> bits); // the top `bits` bits
    return (load<u8>(bytes + whole) & mask) == load<u8>(network + whole);
  }

  /** The canonical form as UTF-8, for log lines built as bytes. */
  get utf8(): ArrayBuffer {
    let encoded = this.encoded;
    if (encoded === null) {
      encoded = String.UTF8.encode(this.text);
      this.encoded = encoded;
    }
    return encoded;
  }

  /** The canonical form: `10.0.0.0/8`. */
  toString(): string {
    return this.text;
  }
}

/**
 * `<address>/<prefix length>`, IPv4 (0 to 32) or IPv6 (0 to 128); null for anything else, a bare
 * address included. Host bits are cleared, as Envoy's own CidrRange does
 * (source/common/network/cidr_range.cc, truncateIpAddressAndLength): `10.1.2.3/8` is `10.0.0.0/8`.
 */
export function parseCidr(text: string): Cidr | null {
  const utf8 = String.UTF8.encode(text);
  const slash = text.indexOf("/");
  if (slash < 0 || utf8.byteLength != text.length) return null; // an address is ASCII
  const address = parseIpRange(utf8, 0, slash);
  if (address === null) return null;
  const bytes = address.bytes;
  const bits = address.size * 8;
  const prefixLength = parseDecimal(utf8, slash + 1, utf8.byteLength, bits);
  if (prefixLength < 0) return null;
  for (let bit = prefixLength; bit < bits; bit++) {
    bytes[bit >> 3] &= <u8>~(<i32>0x80 >> (bit & 7));
  }
  return new Cidr(address, prefixLength);
}
