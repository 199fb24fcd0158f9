import { parseIpRange } from "../../assembly/kit/address";
import { parseConfiguration } from "../../assembly/kit/configuration";
import { IpAddress } from "../../assembly/kit/address";
import { Cidr, parseCidr } from "../../examples/tcp_guard/cidr";
import { CidrTable } from "../../examples/tcp_guard/cidr_table";
import { GuardSettings } from "../../examples/tcp_guard/config";
import { proxyProtocolLine } from "../../examples/tcp_guard/proxy_protocol";

function cidr(text: string): string {
  const parsed = parseCidr(text);
  if (parsed === null) return "null";
  return parsed.toString();
}

function contains(range: string, address: string): bool {
  const utf8 = String.UTF8.encode(address);
  return (parseCidr(range) as Cidr).contains(parseIpRange(utf8, 0, utf8.byteLength)!);
}

function found(text: string): ArrayBuffer {
  return String.UTF8.encode(text);
}

describe("CIDR ranges", () => {
  it("clear the host bits, as Envoy's CidrRange does", () => {
    expect(cidr("10.1.2.3/8")).toBe("10.0.0.0/8");
    expect(cidr("10.255.255.255/9")).toBe("10.128.0.0/9");
    expect(cidr("2001:db8::1/32")).toBe("2001:db8::/32");
    expect(cidr("::1/128")).toBe("::1/128");
    expect(cidr("1.2.3.4/0")).toBe("0.0.0.0/0");
  });

  it("hold the addresses under their prefix, bit by bit", () => {
    expect(contains("10.0.0.0/9", "10.127.255.255")).toBe(true);
    expect(contains("10.0.0.0/9", "10.128.0.0")).toBe(false);
    expect(contains("0.0.0.0/0", "255.255.255.255")).toBe(true);
    expect(contains("2001:db8::/33", "2001:db8:7fff::1")).toBe(true);
    expect(contains("2001:db8::/33", "2001:db8:8000::")).toBe(false);
    expect(contains("::1/128", "::1")).toBe(true);
    expect(contains("::1/128", "::2")).toBe(false);
  });

  it("never mix families", () => {
    expect(contains("0.0.0.0/0", "::ffff:10.0.0.1")).toBe(false);
    expect(contains("::/0", "10.0.0.1")).toBe(false);
  });

  it("refuse a missing or oversized prefix length, a bare address, non-ASCII text", () => {
    const bad = ["10.0.0.0/33", "::/129", "10.0.0.0/", "/8", "10.0.0.0/08", "10.0.0.0", "10.0.0.0/8/8", "é/8", "10.0.0.0/-1", "10.0.0.0 /8"];
    for (let i = 0; i < bad.length; i++) expect(cidr(bad[i])).toBe("null", bad[i]);
  });
});

// Null checks, not `!`: a checked cast leaks a reference in AssemblyScript 0.17 with asserts on,
// and as-pect's rtrace slows down with every block left behind.
function address(text: string): IpAddress {
  const utf8 = String.UTF8.encode(text);
  const ip = parseIpRange(utf8, 0, utf8.byteLength);
  if (ip === null) return new IpAddress();
  return ip;
}

function range(text: string): Cidr {
  const parsed = parseCidr(text);
  if (parsed === null) return new Cidr(new IpAddress(), 0);
  return parsed;
}

function ranges(texts: string[]): Cidr[] {
  const parsed = new Array<Cidr>(texts.length);
  for (let i = 0; i < texts.length; i++) parsed[i] = range(texts[i]);
  return parsed;
}

/** The index CidrTable finds for `ip` in `texts`. */
function firstHolding(texts: string[], ip: string): i32 {
  return new CidrTable(ranges(texts)).firstHolding(address(ip));
}

/** What a scan in list order finds: the definition the table must meet. */
function firstByScan(list: Cidr[], ip: IpAddress): i32 {
  for (let i = 0; i < list.length; i++) {
    if (list[i].contains(ip)) return i;
  }
  return -1;
}

/** xorshift32, seeded: the same cases on every run. */
let seed: u32 = 0x9e3779b9;
function random(below: u32): u32 {
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  return seed % below;
}

/** A copy of `ip`. */
function copyOf(ip: IpAddress): IpAddress {
  const copy = new IpAddress();
  copy.isIpv6 = ip.isIpv6;
  for (let i = 0; i < ip.size; i++) copy.bytes[i] = ip.bytes[i];
  return copy;
}

/** `ip` with every bit after `prefixLength` set: the last address of the range. */
function lastOf(range: Cidr): IpAddress {
  const ip = copyOf(range.network);
  for (let bit = range.prefixLength; bit < ip.size * 8; bit++) {
    ip.bytes[bit >> 3] = <u8>(<i32>ip.bytes[bit >> 3] | (0x80 >> (bit & 7)));
  }
  return ip;
}

/** `ip` plus `step` (1 or -1), wrapping around the address space. */
function stepped(ip: IpAddress, step: i32): IpAddress {
  const next = copyOf(ip);
  for (let i = next.size - 1; i >= 0; i--) {
    const byte = <i32>next.bytes[i] + step;
    next.bytes[i] = <u8>byte;
    if (byte >= 0 && byte <= 255) break;
  }
  return next;
}

/** Addresses packed near a few bases, with any prefix length: ranges that nest, repeat and touch. */
function randomRange(ipv6: bool): Cidr {
  const bases: u8[] = [0, 10, 255];
  const ip = new IpAddress();
  ip.isIpv6 = ipv6;
  ip.bytes[0] = bases[random(3)];
  for (let i = 1; i < ip.size; i++) ip.bytes[i] = <u8>(i == 1 || i == ip.size - 1 ? random(4) * 63 : random(256));
  const prefixLength = <i32>random(ip.size * 8 + 1);
  // Through the text, as deny_sources gives it: parseCidr clears the host bits.
  return range(ip.toString() + "/" + prefixLength.toString());
}

/** The first address of the list's ranges' edges at which the table and a scan differ, or "". */
function firstDifference(list: Cidr[], table: CidrTable, ip: IpAddress): string {
  const found = table.firstHolding(ip);
  const scanned = firstByScan(list, ip);
  if (found == scanned) return "";
  return ip.toString() + ": table " + found.toString() + ", scan " + scanned.toString() + " in [" + list.join(", ") + "]";
}
describe("deny_sources as a table", () => {
  it("finds the first range in the list that holds an address, inner or outer", () => {
    expect(firstHolding(["10.1.0.0/16", "10.0.0.0/8"], "10.1.2.3")).toBe(0);
    expect(firstHolding(["10.1.0.0/16", "10.0.0.0/8"], "10.2.0.0")).toBe(1);
    expect(firstHolding(["10.0.0.0/8", "10.1.0.0/16"], "10.1.2.3")).toBe(0);
    expect(firstHolding(["10.0.0.0/8", "10.1.0.0/16"], "11.0.0.0")).toBe(-1);
    expect(firstHolding(["10.0.0.0/8", "10.0.0.0/8", "10.0.0.0/9"], "10.0.0.1")).toBe(0);
    expect(firstHolding(["10.0.0.0/9", "10.0.0.0/8", "10.0.0.0/8"], "10.128.0.0")).toBe(1);
  });

  it("holds the first and last addresses of each family", () => {
    expect(firstHolding(["10.0.0.0/8", "0.0.0.0/0"], "255.255.255.255")).toBe(1);
    expect(firstHolding(["10.0.0.0/8", "0.0.0.0/0"], "0.0.0.0")).toBe(1);
    expect(firstHolding(["10.0.0.0/8", "0.0.0.0/0"], "10.255.255.255")).toBe(0);
    expect(firstHolding(["255.255.255.255/32"], "255.255.255.255")).toBe(0);
    expect(firstHolding(["255.255.255.255/32"], "255.255.255.254")).toBe(-1);
    expect(firstHolding(["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "::/0"], "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).toBe(0);
    expect(firstHolding(["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "::/0"], "::")).toBe(1);
    expect(firstHolding(["::/64"], "0:0:0:0:ffff:ffff:ffff:ffff")).toBe(0);
    expect(firstHolding(["::/64"], "0:0:0:1::")).toBe(-1);
  });

  it("never mixes families, and holds nothing when empty", () => {
    expect(firstHolding(["0.0.0.0/0"], "::")).toBe(-1);
    expect(firstHolding(["::/0"], "10.0.0.1")).toBe(-1);
    expect(firstHolding(["::/0", "0.0.0.0/0"], "10.0.0.1")).toBe(1);
    expect(firstHolding([], "10.0.0.1")).toBe(-1);
  });

  it("finds what a scan in list order finds, at every range's edges and between", () => {
    let difference = "";
    // Few rounds: as-pect traces every allocation. examples/tcp_guard/deny_list_scale.test.ts checks
    // thousands of ranges against the release module.
    for (let round = 0; round < 12; round++) {
      const ipv6 = round % 2 == 1;
      const count = 1 + <i32>random(30);
      const list = new Array<Cidr>(count);
      for (let i = 0; i < count; i++) list[i] = randomRange(ipv6 ? random(4) != 0 : random(4) == 0);
      const table = new CidrTable(list);
      for (let i = 0; i < count; i++) {
        const last = lastOf(list[i]);
        const probes = [list[i].network, last, stepped(list[i].network, -1), stepped(last, 1), randomRange(list[i].network.isIpv6).network];
        for (let j = 0; j < probes.length; j++) {
          // One expect per list: as-pect's expect costs more than the lookups.
          if (difference.length == 0) difference = firstDifference(list, table, probes[j]);
        }
      }
    }
    expect(difference).toBe("");
  });
});

describe("the PROXY protocol v1 line", () => {
  it("is TCP4 or TCP6 with both addresses and ports", () => {
    expect(String.UTF8.decode(proxyProtocolLine(found("192.0.2.1:51234"), found("10.0.0.1:443")))).toBe("PROXY TCP4 192.0.2.1 10.0.0.1 51234 443\r\n");
    expect(String.UTF8.decode(proxyProtocolLine(found("[2001:db8::1]:1"), found("[::1]:18000")))).toBe("PROXY TCP6 2001:db8::1 ::1 1 18000\r\n");
  });

  it("is UNKNOWN when an address is unavailable, not an IP address, or of the other family", () => {
    const notFound = new ArrayBuffer(0); // what a failed read holds
    expect(String.UTF8.decode(proxyProtocolLine(notFound, found("10.0.0.1:443")))).toBe("PROXY UNKNOWN\r\n");
    expect(String.UTF8.decode(proxyProtocolLine(found("10.0.0.1:443"), notFound))).toBe("PROXY UNKNOWN\r\n");
    expect(String.UTF8.decode(proxyProtocolLine(found("/run/client.sock"), found("10.0.0.1:443")))).toBe("PROXY UNKNOWN\r\n");
    expect(String.UTF8.decode(proxyProtocolLine(found("10.0.0.1:1"), found("[::1]:443")))).toBe("PROXY UNKNOWN\r\n");
  });
});

describe("tcp_guard's configuration", () => {
  it("defaults to no deny list, no limit, no PROXY line", () => {
    const parsed = parseConfiguration<GuardSettings>(new ArrayBuffer(0), true);
    expect(parsed.error).toBe("");
    expect(parsed.settings.describe()).toBe("deny_sources=[] max_downstream_bytes=0 proxy_protocol=false");
  });

  it("reads every key, and the largest limit", () => {
    const parsed = parseConfiguration<GuardSettings>(String.UTF8.encode(
      "{\"deny_sources\": [\"10.0.0.0/8\", \"::1/128\"], \"max_downstream_bytes\": 9223372036854775807, \"proxy_protocol\": true}"), true);
    expect(parsed.error).toBe("");
    expect(parsed.settings.describe()).toBe("deny_sources=[10.0.0.0/8, ::1/128] max_downstream_bytes=9223372036854775807 proxy_protocol=true");
  });
});
