// tcp_guard's plugin: one per root context, with the settings and the counters its connections use.

import { counter, Metric, parseConfiguration } from "../../assembly/kit";
import { GuardSettings } from "./config";

export class GuardMetrics {
  /** every connection the filter has seen */
  connections: Metric = counter("tcp_guard_connections");
  /** connections refused because their source is in deny_sources */
  denied: Metric = counter("tcp_guard_denied");
  /** connections closed because the client sent more than max_downstream_bytes */
  overLimit: Metric = counter("tcp_guard_over_limit");
}

export class GuardPlugin {
  settings: GuardSettings = new GuardSettings();
  metrics: GuardMetrics = new GuardMetrics();

  configure(configuration: ArrayBuffer): string {
    // deny_sources is an array: values may nest.
    const parsed = parseConfiguration<GuardSettings>(configuration, true);
    if (parsed.error.length > 0) return parsed.error;
    this.settings = parsed.settings;
    return "";
  }

  describe(): string {
    return this.settings.describe();
  }
}
