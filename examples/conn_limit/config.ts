// conn_limit's plugin configuration: a JSON object such as
// {"max_connections_per_source": 4, "tick_ms": 1000}. Every error names the key.

import { JsonMember, quoted } from "../../assembly/kit";

/** The largest max_connections_per_source: far beyond what one source opens, and a plain number. */
const MAX_LIMIT: i64 = 1000000;
/** The longest tick period, an hour: the summary is meant to follow the counts. */
const MAX_TICK_MS: i64 = 3600000;
/** The tick period when tick_ms is left out. */
const DEFAULT_TICK_MS: u32 = 1000;

export class LimitSettings {
  /** connections one source IP may have open at once, across every worker; 0 until set (required) */
  maxConnectionsPerSource: i64 = 0;
  /** how often each VM publishes the summary of the counts */
  tickMs: u32 = DEFAULT_TICK_MS;

  describe(): string {
    return "max_connections_per_source=" + this.maxConnectionsPerSource.toString() + " tick_ms=" + this.tickMs.toString();
  }

  /** The error for a setting left out, or "". */
  missing(): string {
    if (this.maxConnectionsPerSource == 0) return quoted("max_connections_per_source") + " is required";
    return "";
  }

  /** Applies one member (kit/configuration.ts): the error, "" when it is fine, null for an unknown key. */
  apply(member: JsonMember): string | null {
    const key = member.key;
    if (key == "max_connections_per_source") {
      const limit = member.value.unsignedInteger();
      if (limit < 1 || limit > MAX_LIMIT) return quoted(key) + " must be an integer from 1 to " + MAX_LIMIT.toString();
      this.maxConnectionsPerSource = limit;
      return "";
    }
    if (key == "tick_ms") {
      const period = member.value.unsignedInteger();
      if (period < 1 || period > MAX_TICK_MS) return quoted(key) + " must be an integer from 1 to " + MAX_TICK_MS.toString() + " (milliseconds)";
      this.tickMs = <u32>period;
      return "";
    }
    return null;
  }
}
