// The root context: reads the plugin configuration and defines the metrics. The plugin keeps its
// own id -> root registry (the library's one builds debug strings of every context id and
// looks contexts up with checked casts), so the root's ABI entry points are here too.

import { BufferTypeValues, log, LogLevelValues, RootContext } from "@solo-io/proxy-runtime/runtime";
import { DEFAULT_METADATA_NAMESPACE, parsePluginConfiguration, PluginSettings } from "./config";
import { hostLogLevel, readBufferBytes, resultName } from "./host";
import { MetadataNamespace } from "./metadata";
import { ConnectionMetrics } from "./metrics";
import { escapeBytes } from "./preview";
import { readProperty } from "./properties";

export class ConnectionLoggerRoot extends RootContext {
  settings: PluginSettings = new PluginSettings();
  /** follows settings.metadataNamespace */
  metadata: MetadataNamespace = new MetadataNamespace(DEFAULT_METADATA_NAMESPACE);
  metrics: ConnectionMetrics = new ConnectionMetrics();

  // proxy_on_configure. Replaces the library's, which corrupts memory when the configuration is
  // not empty; the plugin configuration buffer exists only during this call.
  onConfigure(configuration_size: u32): bool {
    if (configuration_size > 0) {
      const configuration = readBufferBytes(BufferTypeValues.PluginConfiguration, 0, configuration_size);
      if (!configuration.ok) {
        log(LogLevelValues.error, "invalid plugin configuration: cannot read it: " + resultName(configuration.result));
        return false;
      }
      const parsed = parsePluginConfiguration(configuration.bytes);
      if (parsed.error.length > 0) {
        log(LogLevelValues.error, "invalid plugin configuration: " + parsed.error);
        return false;
      }
      this.settings = parsed.settings;
      this.metadata = new MetadataNamespace(parsed.settings.metadataNamespace);
    }
    this.metrics.define();
    if (hostLogLevel() <= LogLevelValues.info) log(LogLevelValues.info, "configured: " + this.settings.describe());
    return true;
  }
}

const PLUGIN_ROOT_ID = String.UTF8.encode("plugin_root_id");
const servedRootIds: string[] = [];
const roots = new Map<u32, ConnectionLoggerRoot>();

/** Makes the plugin answer to this root id (PluginConfig.root_id). */
export function serveRootId(root_id: string): void {
  servedRootIds.push(root_id);
}

/** Creates the root context, if its root id (property plugin_root_id) is one the plugin serves. */
export function createRoot(context_id: u32): void {
  const rootId = readProperty(PLUGIN_ROOT_ID);
  if (!rootId.ok || !servedRootIds.includes(String.UTF8.decode(rootId.bytes))) {
    const shown = rootId.ok ? "\"" + escapeBytes(rootId.bytes) + "\"" : resultName(rootId.result);
    log(LogLevelValues.error, "no root context for root id " + shown);
    return;
  }
  roots.set(context_id, new ConnectionLoggerRoot(context_id));
}

export function findRoot(context_id: u32): ConnectionLoggerRoot | null {
  return roots.has(context_id) ? roots.get(context_id) : null;
}

export function deleteRoot(context_id: u32): void {
  roots.delete(context_id);
}

// A root without a root context (an unknown root id) fails start and configure, so Envoy
// refuses the configuration instead of running a plugin that does nothing.
export function proxy_on_vm_start(root_context_id: u32, vm_configuration_size: u32): u32 {
  return findRoot(root_context_id) !== null ? 1 : 0;
}

export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  const root = findRoot(root_context_id);
  return root !== null && root.onConfigure(configuration_size) ? 1 : 0;
}
