// byte_quota's plugin: a byte quota for each direction, read from the plugin configuration, and
// its counters.
//
// The configuration is a JSON object, e.g. {"max_downstream_bytes": 4096, "max_upstream_bytes":
// 1048576}; a key left out, or 0, is no limit. The kit's parseConfiguration
// (assembly/kit/configuration.ts) refuses malformed JSON, duplicate and unknown keys by itself.

import { counter, JsonMember, Metric, parseConfiguration, quoted } from "../../assembly/kit";

export class QuotaSettings {
  /** bytes the client may send on one connection; 0 for no limit */
  maxDownstreamBytes: u64 = 0;
  /** bytes the upstream may send back on one connection; 0 for no limit */
  maxUpstreamBytes: u64 = 0;

  /** One member: "" when applied, the error for a bad value, null for a key that is not ours. */
  apply(member: JsonMember): string | null {
    const key = member.key;
    if (key != "max_downstream_bytes" && key != "max_upstream_bytes") return null;
    const limit = member.value.unsignedInteger(); // -1 unless a plain non-negative integer
    if (limit < 0) return quoted(key) + " must be an integer from 0 (no limit) to " + i64.MAX_VALUE.toString();
    if (key == "max_downstream_bytes") this.maxDownstreamBytes = <u64>limit;
    else this.maxUpstreamBytes = <u64>limit;
    return "";
  }
}

export class QuotaPlugin {
  settings: QuotaSettings = new QuotaSettings();
  /** Envoy shows them as wasmcustom.byte_quota_downstream_closed and wasmcustom.byte_quota_upstream_closed */
  downstreamClosed: Metric = counter("byte_quota_downstream_closed");
  upstreamClosed: Metric = counter("byte_quota_upstream_closed");

  configure(configuration: ArrayBuffer): string {
    const parsed = parseConfiguration<QuotaSettings>(configuration, false);
    if (parsed.error.length > 0) return parsed.error;
    this.settings = parsed.settings;
    return "";
  }

  describe(): string {
    return "max_downstream_bytes=" + this.settings.maxDownstreamBytes.toString() +
      " max_upstream_bytes=" + this.settings.maxUpstreamBytes.toString();
  }
}
