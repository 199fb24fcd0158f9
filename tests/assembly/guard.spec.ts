import { parseIpRange } from "../../assembly/kit/address";
import { parseConfiguration } from "../../assembly/kit/configuration";
import { Cidr, parseCidr } from "../../assembly/tcp_guard/cidr";
import { GuardSettings } from "../../assembly/tcp_guard/config";
import { proxyProtocolLine } from "../../assembly/tcp_guard/proxy_protocol";

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
