// tcp_guard's plugin configuration: a JSON object such as
// {"deny_sources": ["10.0.0.0/8", "::1/128"], "max_downstream_bytes": 1048576, "proxy_protocol": true}.
// Every key is optional; every error names the key (and the entry of deny_sources).

import { IpAddress } from "../kit/address";
import { quoted } from "../kit/configuration";
import { JsonKind, JsonMember } from "../kit/json";
import { Cidr, parseCidr } from "./cidr";

export class GuardSettings {
  /** sources refused in proxy_on_new_connection */
  denySources: Cidr[] = [];
  /** bytes a client may send in all; 0 for no limit */
  maxDownstreamBytes: u64 = 0;
  /** prepend a PROXY protocol v1 line to the first downstream chunk */
  proxyProtocol: bool = false;

  /** The first range of deny_sources that holds `ip`, or null. */
  denying(ip: IpAddress): Cidr | null {
    const ranges = this.denySources;
    for (let i = 0; i < ranges.length; i++) {
      if (ranges[i].contains(ip)) return ranges[i];
    }
    return null;
  }

  describe(): string {
    return "deny_sources=[" + this.denySources.join(", ") + "] max_downstream_bytes=" +
      this.maxDownstreamBytes.toString() + " proxy_protocol=" + (this.proxyProtocol ? "true" : "false");
  }

  /** Applies one member (kit/configuration.ts): the error, "" when it is fine, null for an unknown key. */
  apply(member: JsonMember): string | null {
    const key = member.key;
    const value = member.value;
    if (key == "deny_sources") {
      if (value.kind != JsonKind.Array) return quoted(key) + " must be an array of CIDR strings";
      const items = value.items;
      for (let i = 0; i < items.length; i++) {
        const entry = quoted(key) + "[" + i.toString() + "]";
        if (items[i].kind != JsonKind.String) return entry + " must be a CIDR string";
        const cidr = parseCidr(items[i].text);
        if (cidr === null) return entry + ": " + quoted(items[i].text) + " is not a CIDR (an IPv4 or IPv6 address, / and a prefix length)";
        this.denySources.push(cidr);
      }
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
