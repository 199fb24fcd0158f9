// tcp_authz's plugin: one per root context, with the settings and the counters its connections use.

import { counter, Metric, parseConfiguration } from "../../assembly/kit";
import { AuthzSettings } from "./config";

export class AuthzMetrics {
  /** connections the service admitted (a 2xx answer) */
  allowed: Metric = counter("tcp_authz_allowed");
  /** connections the service refused (any other answer but 503 and 504) */
  denied: Metric = counter("tcp_authz_denied");
  /** connections whose question failed (not sent, reset, 503, 504): failure_mode decided */
  failed: Metric = counter("tcp_authz_failed");
}

export class AuthzPlugin {
  settings: AuthzSettings = new AuthzSettings();
  metrics: AuthzMetrics = new AuthzMetrics();

  configure(configuration: ArrayBuffer): string {
    const parsed = parseConfiguration<AuthzSettings>(configuration, false);
    if (parsed.error.length > 0) return parsed.error;
    this.settings = parsed.settings;
    return "";
  }

  describe(): string {
    return this.settings.describe();
  }
}
