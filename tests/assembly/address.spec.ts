import { parseIpRange, parseSocketAddress } from "../../assembly/kit/address";

/** The address parsed and written back, or "null". */
function ip(text: string): string {
  const utf8 = String.UTF8.encode(text);
  const address = parseIpRange(utf8, 0, utf8.byteLength);
  if (address === null) return "null";
  return address.toString();
}

/** `ip port` of a socket address, or "null". */
function socket(text: string): string {
  const address = parseSocketAddress(String.UTF8.encode(text));
  if (address === null) return "null";
  return address.ip.toString() + " " + address.port.toString();
}

describe("IPv4 addresses", () => {
  it("reads four decimals from 0 to 255", () => {
    expect(ip("10.0.0.1")).toBe("10.0.0.1");
    expect(ip("0.0.0.0")).toBe("0.0.0.0");
    expect(ip("255.255.255.255")).toBe("255.255.255.255");
  });

  it("refuses anything else, a leading zero included (it reads as octal elsewhere)", () => {
    const bad = ["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "", "1.2.3.4 ", "a.b.c.d", "1.2.3.-4", "1.2.3.4."];
    for (let i = 0; i < bad.length; i++) expect(ip(bad[i])).toBe("null", bad[i]);
  });
});

describe("IPv6 addresses", () => {
  it("writes the canonical form of RFC 5952: lowercase, no leading zeros, the longest zero run as ::", () => {
    expect(ip("::")).toBe("::");
    expect(ip("::1")).toBe("::1");
    expect(ip("1::")).toBe("1::");
    expect(ip("2001:0DB8:0000:0000:0000:0000:0000:0001")).toBe("2001:db8::1");
    expect(ip("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1"); // the first of two equal runs
    expect(ip("2001:0:0:1:0:0:0:1")).toBe("2001:0:0:1::1"); // the longest run
    expect(ip("1:0:2:3:4:5:6:7")).toBe("1:0:2:3:4:5:6:7"); // one zero group stays
    expect(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).toBe("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  });

  it("reads an IPv4 tail and writes it as hexadecimal groups", () => {
    expect(ip("::ffff:10.1.2.3")).toBe("::ffff:a01:203");
    expect(ip("1:2:3:4:5:6:1.2.3.4")).toBe("1:2:3:4:5:6:102:304");
  });

  it("refuses anything else, a zone included", () => {
    const bad = [":::", ":1", "1:", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
      "12345::", "g::", "fe80::1%eth0", "::ffff:1.2.3", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4:5"];
    for (let i = 0; i < bad.length; i++) expect(ip(bad[i])).toBe("null", bad[i]);
  });
});

describe("socket addresses", () => {
  it("reads ip:port, and [ip]:port for IPv6, as Envoy writes them", () => {
    expect(socket("10.0.0.1:4660")).toBe("10.0.0.1 4660");
    expect(socket("[::1]:80")).toBe("::1 80");
    expect(socket("[2001:db8::7]:0")).toBe("2001:db8::7 0");
    expect(socket("127.0.0.1:65535")).toBe("127.0.0.1 65535");
  });

  it("refuses an address without a port, an IPv6 address without brackets, a pipe", () => {
    const bad = ["10.0.0.1", "::1:80", "[10.0.0.1]:80", "10.0.0.1:65536", "10.0.0.1:080", "10.0.0.1:", "/tmp/envoy.sock", "[::1]", "", ":80", "[::1]80"];
    for (let i = 0; i < bad.length; i++) expect(socket(bad[i])).toBe("null", bad[i]);
  });
});
