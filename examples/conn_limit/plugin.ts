// conn_limit's plugin: one per root context (per VM), with the settings, the counters its
// connections use, and the tick that publishes what the shared counts add up to.
//
// Which sources exist is a list in shared data (conn_limit/sources), which the VM that creates a
// source's counter adds it to: every VM reads the same list, so every VM's tick computes the same
// numbers and the gauges (set, not added to) agree whichever VM ticked last. A per-VM set would
// know only the sources of its own connections, and a shared queue hands each item to one VM only.
// The list only grows, as the counters do: ABI 0.2.1 cannot remove a shared key.

import { counter, gauge, log, LogLevelValues, Metric, parseConfiguration, setTickPeriod, SharedCounter, SharedList } from "../../assembly/kit";
import { LimitSettings } from "./config";

/** Each source's counter is the shared key `conn_limit/<ip>`. */
export const SOURCE_KEY_PREFIX = "conn_limit/";
const SOURCES_KEY = "conn_limit/sources";

export class LimitMetrics {
  /** connections let through (and counted against their source) */
  allowed: Metric = counter("conn_limit_allowed");
  /** connections closed at once because their source had max_connections_per_source open */
  refused: Metric = counter("conn_limit_refused");
  /** sources with max_connections_per_source open, at the last tick */
  sourcesAtLimit: Metric = gauge("conn_limit_sources_at_limit");
  /** connections open from all sources together, at the last tick */
  open: Metric = gauge("conn_limit_open");
}

/** What a tick finds: the connections open from all sources, the sources known, those at their limit. */
function summary(open: i64, sources: i32, atLimit: i32): string {
  return "open=" + open.toString() + " sources=" + sources.toString() + " at_limit=" + atLimit.toString();
}

export class LimitPlugin {
  settings: LimitSettings = new LimitSettings();
  metrics: LimitMetrics = new LimitMetrics();
  /** the sources whose counters exist */
  sources: SharedList = new SharedList(SOURCES_KEY);
  /** the summary this VM logged last: a tick logs only a change */
  private lastSummary: string = summary(0, 0, 0);

  configure(configuration: ArrayBuffer): string {
    const parsed = parseConfiguration<LimitSettings>(configuration, false);
    if (parsed.error.length > 0) return parsed.error;
    const missing = parsed.settings.missing();
    if (missing.length > 0) return missing;
    this.settings = parsed.settings;
    setTickPeriod(this.settings.tickMs);
    return "";
  }

  describe(): string {
    return this.settings.describe();
  }

  // proxy_on_tick: reads every source's count, sets the gauges, and logs the summary if it changed.
  onTick(): void {
    if (!this.sources.read()) return;
    const sources = this.sources.items;
    const limit = this.settings.maxConnectionsPerSource;
    let open: i64 = 0;
    let atLimit: i32 = 0;
    for (let i = 0; i < sources.length; i++) {
      const count = new SharedCounter(SOURCE_KEY_PREFIX + sources[i]);
      if (!count.read()) continue; // logged
      open += count.value;
      if (count.value >= limit) atLimit++;
    }
    this.metrics.open.set(<u64>open);
    this.metrics.sourcesAtLimit.set(<u64>atLimit);
    const now = summary(open, sources.length, atLimit);
    if (now == this.lastSummary) return;
    this.lastSummary = now;
    log(LogLevelValues.info, "tick: " + now);
  }
}
