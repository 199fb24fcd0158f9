// tcp_authz's plugin configuration: a JSON object such as
// {"cluster": "authz", "path": "/check", "timeout_ms": 1000, "failure_mode": "deny"}.
// Every key is optional; every error names the key.

import { JsonKind, JsonMember, quoted } from "../../assembly/kit";

/** Envoy reads proxy_http_call's timeout as a signed int (docs/envoy-host.md §19). */
const MAX_TIMEOUT_MS: i64 = i32.MAX_VALUE;

export class AuthzSettings {
  /** the cluster of Envoy's config the question goes to */
  cluster: string = "authz";
  /** the request's path */
  path: string = "/check";
  /** how long the service has to answer; then Envoy answers 504 itself */
  timeoutMs: u32 = 1000;
  /** what a failed or silent service means: true admits the connection, false closes it */
  allowOnFailure: bool = false;

  describe(): string {
    return "cluster=" + this.cluster + " path=" + this.path + " timeout_ms=" + this.timeoutMs.toString() +
      " failure_mode=" + (this.allowOnFailure ? "allow" : "deny");
  }

  /** Applies one member (kit/configuration.ts): the error, "" when it is fine, null for an unknown key. */
  apply(member: JsonMember): string | null {
    const key = member.key;
    const value = member.value;
    if (key == "cluster") {
      if (value.kind != JsonKind.String || value.text.length == 0) return quoted(key) + " must be a cluster's name, a non-empty string";
      this.cluster = value.text;
      return "";
    }
    if (key == "path") {
      if (value.kind != JsonKind.String || !value.text.startsWith("/")) return quoted(key) + " must be a string starting with /";
      this.path = value.text;
      return "";
    }
    if (key == "timeout_ms") {
      // 0 would be no timeout at all: a silent service would hold connections for ever.
      const timeout = value.unsignedInteger();
      if (timeout < 1 || timeout > MAX_TIMEOUT_MS) return quoted(key) + " must be an integer from 1 to " + MAX_TIMEOUT_MS.toString();
      this.timeoutMs = <u32>timeout;
      return "";
    }
    if (key == "failure_mode") {
      if (value.kind != JsonKind.String || (value.text != "allow" && value.text != "deny")) return quoted(key) + " must be \"allow\" or \"deny\"";
      this.allowOnFailure = value.text == "allow";
      return "";
    }
    return null;
  }
}
