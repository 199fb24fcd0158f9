// The logger's plugin: one per root context. It takes the plugin configuration, holds the
// metrics its connections update (the kit defines them when it is configured), and keeps what its
// connections share about their upstreams.

import { MetadataNamespace, parseConfiguration } from "../kit";
import { PluginSettings } from "./config";
import { ConnectionMetrics } from "./metrics";
import { UpstreamDescription } from "./upstream";

export class LoggerPlugin {
  settings: PluginSettings = new PluginSettings();
  metrics: ConnectionMetrics = new ConnectionMetrics();
  /** follows the settings */
  upstream: UpstreamDescription = describing(new PluginSettings());

  configure(configuration: ArrayBuffer): string {
    // Flat: an array or object value is malformed JSON to the logger.
    const parsed = parseConfiguration<PluginSettings>(configuration, false);
    if (parsed.error.length > 0) return parsed.error;
    const settings = parsed.settings;
    this.settings = settings;
    this.upstream = describing(settings);
    return "";
  }

  describe(): string {
    return this.settings.describe();
  }
}

function describing(settings: PluginSettings): UpstreamDescription {
  return new UpstreamDescription(new MetadataNamespace(settings.metadataNamespace), settings.metadataPreviewBytes);
}
