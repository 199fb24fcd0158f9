// tcp_guard's plugin configuration: a JSON object such as
// {"deny_sources": ["10.0.0.0/8", "::1/128"], "max_downstream_bytes": 1048576, "proxy_protocol": true}.
// Every key is optional; every error names the key (and the entry of deny_sources).

import { JsonKind, JsonMember, quoted } from "../../assembly/kit";
import { Cidr, parseCidr } from "./cidr";
import { CidrTable } from "./cidr_table";

export class GuardSettings {
  /** sources refused in proxy_on_new_connection */
  denySources: Cidr[] = [];
  /** deny_sources for looking a source up */
  private denyTable: CidrTable = new CidrTable([]);
  /** bytes a client may send in all; 0 for no limit */
  maxDownstreamBytes: u64 = 0;
  /** prepend a PROXY protocol v1 line to the first downstream chunk */
  proxyProtocol: bool = false;

  /**
   * The first range of deny_sources that holds the address whose bytes are at `bytes` (an
   * IpAddress's, IPv6 or not), or null. It takes the bytes' address, not the IpAddress: it runs
   * for every connection, and AS 0.17 counts each reference passed (docs/toolchain.md).
   */
  denying(bytes: usize, isIpv6: bool): Cidr | null {
    const index = this.denyTable.firstHoldingAt(bytes, isIpv6);
    if (index < 0) return null;
    return this.denySources[index];
  }

  describe(): string {
    return "deny_sources=[" + joined(this.denySources, ", ") + "] max_downstream_bytes=" +
      this.maxDownstreamBytes.toString() + " proxy_protocol=" + (this.proxyProtocol ? "true" : "false");
  }

  /** Applies one member (kit/configuration.ts): the error, "" when it is fine, null for an unknown key. */
  apply(member: JsonMember): string | null {
    const key = member.key;
    const value = member.value;
    if (key == "deny_sources") {
      if (value.kind != JsonKind.Array) return quoted(key) + " must be an array of CIDR strings";
      const items = value.items;
      // Sized first and set by index: push would grow it one element at a time (kit/json.ts).
      const ranges = new Array<Cidr>(items.length);
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (item.kind != JsonKind.String) return entryName(key, i) + " must be a CIDR string";
        const cidr = parseCidr(item.text);
        if (cidr === null) return entryName(key, i) + ": " + quoted(item.text) + " is not a CIDR (an IPv4 or IPv6 address, / and a prefix length)";
        ranges[i] = cidr;
      }
      this.denySources = ranges;
      this.denyTable = new CidrTable(ranges);
      return "";
    }
    if (key == "max_downstream_bytes") {
      const limit = value.unsignedInteger();
      if (limit < 0) return quoted(key) + " must be an integer from 0 (no limit) to " + i64.MAX_VALUE.toString();
      this.maxDownstreamBytes = <u64>limit;
      return "";
    }
    if (key == "proxy_protocol") {
      if (value.kind != JsonKind.True && value.kind != JsonKind.False) return quoted(key) + " must be true or false";
      this.proxyProtocol = value.kind == JsonKind.True;
      return "";
    }
    return null;
  }
}

/** `"deny_sources"[3]`: an entry of an array, for an error. */
function entryName(key: string, index: i32): string {
  return quoted(key) + "[" + index.toString() + "]";
}

/**
 * The canonical forms of `ranges` with `separator` between them, copied once into a string of the
 * right length. Array#join in AssemblyScript 0.17 appends item by item to a growing string,
 * copying all of it each time: 100,000 ranges took seconds.
 */
function joined(ranges: Cidr[], separator: string): string {
  const count = ranges.length;
  let units = count > 0 ? separator.length * (count - 1) : 0;
  for (let i = 0; i < count; i++) units += ranges[i].toString().length; // made once, not allocated
  const out = __new(<usize>units << 1, idof<String>());
  let at = out;
  for (let i = 0; i < count; i++) {
    if (i > 0) at = copyUnits(at, separator);
    at = copyUnits(at, ranges[i].toString());
  }
  return changetype<string>(out);
}

/** Copies the UTF-16 code units of `text` to `to`; returns the address after them. */
function copyUnits(to: usize, text: string): usize {
  const bytes = <usize>text.length << 1;
  memory.copy(to, changetype<usize>(text), bytes);
  return to + bytes;
}
