// The logger's plugin: one per root context. It takes the plugin configuration and defines the
// metrics its connections update.

import { parseConfiguration } from "../kit/configuration";
import { MetadataNamespace } from "../kit/metadata";
import { DEFAULT_METADATA_NAMESPACE, PluginSettings } from "./config";
import { ConnectionMetrics } from "./metrics";

export class LoggerPlugin {
  settings: PluginSettings = new PluginSettings();
  /** follows settings.metadataNamespace */
  metadata: MetadataNamespace = new MetadataNamespace(DEFAULT_METADATA_NAMESPACE);
  metrics: ConnectionMetrics = new ConnectionMetrics();

  configure(configuration: ArrayBuffer): string {
    // Flat: an array or object value is malformed JSON to the logger.
    const parsed = parseConfiguration<PluginSettings>(configuration, false);
    if (parsed.error.length > 0) return parsed.error;
    this.settings = parsed.settings;
    this.metadata = new MetadataNamespace(parsed.settings.metadataNamespace);
    this.metrics.define();
    return "";
  }

  describe(): string {
    return this.settings.describe();
  }
}
