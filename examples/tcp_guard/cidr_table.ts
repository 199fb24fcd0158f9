// deny_sources as a lookup table: for each address family, the address space cut into segments,
// each knowing the first range of the list (by its index) that holds its addresses, or none. A
// source is looked up by binary search over the segments' starts: its cost grows with the log of
// the list's length, where trying the ranges one by one grew with the length itself (10,000
// ranges added 0.2 ms to every connection).
//
// Two CIDR ranges are either disjoint or one holds the other, so the ranges that hold an address
// are a chain of nested ones, and the first of them in the list is the one a scan in list order
// would find: the segments are built by sweeping the ranges in address order with a stack of the
// ranges still open.

import { IpAddress } from "../../assembly/kit";
import { Cidr } from "./cidr";

/**
 * An address as a 128-bit number (high and low halves), its bytes left-aligned: IPv4 in the top 32
 * bits, so that a prefix length counts from the top bit in both families. Read through the bytes'
 * address: passing the IpAddress to each would count a reference to it each time.
 */
function highHalf(bytes: usize, isIpv6: bool): u64 {
  // IpAddress keeps an IPv4 address's 4 bytes first; the 12 after them are not cleared.
  if (!isIpv6) return <u64>bswap<u32>(load<u32>(bytes)) << 32;
  return bswap<u64>(load<u64>(bytes));
}

function lowHalf(bytes: usize, isIpv6: bool): u64 {
  if (!isIpv6) return 0;
  return bswap<u64>(load<u64>(bytes + 8));
}

/** The bits after a prefix of `prefixLength` bits, in the high and the low half. */
function hostBitsHigh(prefixLength: i32): u64 {
  return prefixLength >= 64 ? 0 : u64.MAX_VALUE >> <u64>prefixLength;
}

function hostBitsLow(prefixLength: i32): u64 {
  if (prefixLength <= 64) return u64.MAX_VALUE;
  return prefixLength >= 128 ? 0 : u64.MAX_VALUE >> <u64>(prefixLength - 64);
}

/** `a` < `b`, each a 128-bit number in two halves. */
// @ts-ignore: decorator
@inline
function isBelow(aHigh: u64, aLow: u64, bHigh: u64, bLow: u64): bool {
  return aHigh < bHigh || (aHigh == bHigh && aLow < bLow);
}

/** A range of the list, as the sweep needs it. */
class Range {
  startHigh: u64;
  startLow: u64;
  endHigh: u64;
  endLow: u64;
  prefixLength: i32;
  /** its place in deny_sources */
  index: i32;

  constructor(cidr: Cidr, index: i32) {
    const network = cidr.network;
    this.startHigh = highHalf(changetype<usize>(network.bytes), network.isIpv6);
    this.startLow = lowHalf(changetype<usize>(network.bytes), network.isIpv6);
    this.endHigh = this.startHigh | hostBitsHigh(cidr.prefixLength);
    this.endLow = this.startLow | hostBitsLow(cidr.prefixLength);
    this.prefixLength = cidr.prefixLength;
    this.index = index;
  }
}

/** Address order; a range before the ranges it holds; equal ranges in list order. */
function sweepOrder(a: Range, b: Range): i32 {
  if (a.startHigh != b.startHigh) return a.startHigh < b.startHigh ? -1 : 1;
  if (a.startLow != b.startLow) return a.startLow < b.startLow ? -1 : 1;
  if (a.prefixLength != b.prefixLength) return a.prefixLength - b.prefixLength;
  return a.index - b.index;
}

function isSameRange(a: Range, b: Range): bool {
  return a.startHigh == b.startHigh && a.startLow == b.startLow && a.prefixLength == b.prefixLength;
}

/** No range of the list holds the segment. */
const NONE = -1;

/** Nested ranges have distinct prefix lengths, 0 to 128: at most 129 are open at once. */
const MAX_OPEN = 129;

/** One family's segments: sorted starts, the first at 0, and each segment's first range. */
class Segments {
  private startHighs: StaticArray<u64>;
  private startLows: StaticArray<u64>;
  private firsts: StaticArray<i32>;
  private count: i32 = 0;
  // The sweep's stack of open ranges, innermost last: where each ends, and the first range (in
  // list order) among it and the ranges around it.
  private openEndHighs: StaticArray<u64> = new StaticArray<u64>(MAX_OPEN);
  private openEndLows: StaticArray<u64> = new StaticArray<u64>(MAX_OPEN);
  private openFirsts: StaticArray<i32> = new StaticArray<i32>(MAX_OPEN);
  private open: i32 = 0;

  /** `ranges` of one family, sorted by sweepOrder. */
  constructor(ranges: Range[]) {
    // Each range starts at most one segment and ends at most one, and one segment comes first.
    const room = 2 * ranges.length + 1;
    this.startHighs = new StaticArray<u64>(room);
    this.startLows = new StaticArray<u64>(room);
    this.firsts = new StaticArray<i32>(room);
    this.startSegment(0, 0, NONE);
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i];
      // The same range again, later in the list: the first of them is open already.
      if (i > 0 && isSameRange(ranges[i - 1], range)) continue;
      this.closeBefore(range.startHigh, range.startLow);
      // The innermost open range holds this one: CIDR ranges nest or are disjoint.
      const around = this.open > 0 ? this.openFirsts[this.open - 1] : NONE;
      const first = around != NONE && around < range.index ? around : range.index;
      this.openEndHighs[this.open] = range.endHigh;
      this.openEndLows[this.open] = range.endLow;
      this.openFirsts[this.open] = first;
      this.open++;
      this.startSegment(range.startHigh, range.startLow, first);
    }
    // A range that ends at the last address stays open: no segment follows it.
    this.closeBefore(u64.MAX_VALUE, u64.MAX_VALUE);
    this.open = 0;
  }

  /** Closes the open ranges that end before the address: after each, the range around it goes on. */
  private closeBefore(high: u64, low: u64): void {
    while (this.open > 0) {
      const endHigh = this.openEndHighs[this.open - 1];
      const endLow = this.openEndLows[this.open - 1];
      if (!isBelow(endHigh, endLow, high, low)) return;
      this.open--;
      const around = this.open > 0 ? this.openFirsts[this.open - 1] : NONE;
      // The address after the end; the end is below another address, so it is not the last one.
      const nextLow = endLow + 1;
      this.startSegment(nextLow == 0 ? endHigh + 1 : endHigh, nextLow, around);
    }
  }

  /**
   * A segment from this address on. Starts never decrease: one equal to the last start replaces
   * that segment (it was empty), and one with the previous segment's range extends it.
   */
  private startSegment(high: u64, low: u64, first: i32): void {
    let last = this.count - 1;
    if (last >= 0 && this.startHighs[last] == high && this.startLows[last] == low) {
      this.count--;
      last--;
    }
    if (last >= 0 && this.firsts[last] == first) return;
    this.startHighs[this.count] = high;
    this.startLows[this.count] = low;
    this.firsts[this.count] = first;
    this.count++;
  }

  /** The first range holding the address, or NONE. */
  lookup(high: u64, low: u64): i32 {
    // Through the addresses: indexing the arrays would count references at each step.
    const highs = changetype<usize>(this.startHighs);
    const lows = changetype<usize>(this.startLows);
    // The last segment starting at or before the address; the first one starts at 0.
    let from = 0;
    let to = this.count - 1;
    while (from < to) {
      const middle = (from + to + 1) >> 1;
      const offset = <usize>middle << 3;
      if (isBelow(high, low, load<u64>(highs + offset), load<u64>(lows + offset))) to = middle - 1;
      else from = middle;
    }
    return load<i32>(changetype<usize>(this.firsts) + (<usize>from << 2));
  }
}

export class CidrTable {
  private ipv4: Segments;
  private ipv6: Segments;

  constructor(cidrs: Cidr[]) {
    let ipv6Count = 0;
    for (let i = 0; i < cidrs.length; i++) {
      if (cidrs[i].network.isIpv6) ipv6Count++;
    }
    // Sized first and set by index: push would grow them one element at a time (json.ts).
    const ipv4 = new Array<Range>(cidrs.length - ipv6Count);
    const ipv6 = new Array<Range>(ipv6Count);
    let ipv4Count = 0;
    ipv6Count = 0;
    for (let i = 0; i < cidrs.length; i++) {
      const cidr = cidrs[i];
      if (cidr.network.isIpv6) ipv6[ipv6Count++] = new Range(cidr, i);
      else ipv4[ipv4Count++] = new Range(cidr, i);
    }
    this.ipv4 = new Segments(ipv4.sort(sweepOrder));
    this.ipv6 = new Segments(ipv6.sort(sweepOrder));
  }

  /**
   * The index of the first range (in the list) that holds `ip`, or -1. An IPv4 address is never in
   * an IPv6 range, nor the reverse (Envoy's CidrRange::isInRange compares the versions first).
   */
  firstHolding(ip: IpAddress): i32 {
    return this.firstHoldingAt(changetype<usize>(ip.bytes), ip.isIpv6);
  }

  /** firstHolding of the address whose bytes are at `bytes` (4 or 16, as IpAddress holds them). */
  firstHoldingAt(bytes: usize, isIpv6: bool): i32 {
    if (isIpv6) return this.ipv6.lookup(highHalf(bytes, true), lowHalf(bytes, true));
    return this.ipv4.lookup(highHalf(bytes, false), lowHalf(bytes, false));
  }
}
