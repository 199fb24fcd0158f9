// Running test modules in the local host's proxy-wasm host: a plugin with captured log lines,
// trace lines and stats, and connections that record what the filter passes on.

import type { WasmFilterConfig } from "../../host/config/model.ts";
import { createLogger } from "../../host/log.ts";
import { createStatsStore } from "../../host/stats.ts";
import type {
  ConnectionInfo,
  FilterCallbacks,
  LogLevelName,
  NetworkFilter,
  PropertyNames,
  StatsStore,
  WasmPlugin,
} from "../../host/wasm/api.ts";
import { startWasmPlugin } from "../../host/wasm/plugin.ts";
import { writeWat } from "./wat.ts";

// Log lines carry local time: tests pin the zone and the clock.
process.env.TZ = "UTC";
export const NOW = Date.UTC(2026, 10, 25, 10, 0, 0);
export const TIMESTAMP = "[2026-11-25 10:00:00.000]";

export function pluginConfig(overrides: Partial<WasmFilterConfig> = {}): WasmFilterConfig {
  return {
    kind: "wasm",
    filterName: "envoy.filters.network.wasm",
    name: "tcp_connection_logger",
    rootId: "tcp_connection_logger",
    vmId: "",
    runtime: "envoy.wasm.runtime.v8",
    code: { kind: "local", filename: "/etc/envoy/plugin/main.wasm" },
    configuration: "",
    vmConfiguration: "",
    failurePolicy: "FAIL_CLOSED",
    legacyFailOpen: false,
    reloadBackoffMs: 1000,
    ...overrides,
  };
}

export interface TestPluginOptions {
  plugin?: Partial<WasmFilterConfig>;
  concurrency?: number;
  propertyNames?: PropertyNames;
  level?: LogLevelName;
  /** a prebuilt module file instead of WAT text */
  wasmPath?: string;
}

export interface TestPlugin {
  plugin: WasmPlugin;
  /** log lines as printed */
  lines: string[];
  /** trace lines */
  trace: string[];
  stats: StatsStore;
}

export function startTestPlugin(wat: string | null, options: TestPluginOptions = {}): TestPlugin {
  const lines: string[] = [];
  const trace: string[] = [];
  const stats = createStatsStore();
  const plugin = startWasmPlugin({
    plugin: pluginConfig(options.plugin),
    wasmPath: options.wasmPath ?? writeWat(wat!),
    concurrency: options.concurrency ?? 1,
    logger: createLogger({ level: options.level ?? "info", componentLevels: {}, write: (l) => lines.push(l), now: () => NOW }),
    stats,
    propertyNames: options.propertyNames ?? "current",
    trace: true,
    traceWrite: (line) => trace.push(line),
  });
  return { plugin, lines, trace, stats };
}

const CONNECTION: ConnectionInfo = {
  source: { address: "127.0.0.1", port: 4660 },
  destination: { address: "127.0.0.1", port: 18000 },
  listenerName: "tcp_listener",
};

/** A downstream connection as the network side sees it: what the filter forwarded, and closes. */
export class TestConnection implements FilterCallbacks {
  readonly events: string[] = [];
  readonly filter: NetworkFilter;

  constructor(plugin: WasmPlugin, info: ConnectionInfo = CONNECTION) {
    this.filter = plugin.createFilter(info, this);
  }

  forwardDownstream(data: Uint8Array, endOfStream: boolean): void {
    this.events.push(`to upstream "${Buffer.from(data).toString()}"${endOfStream ? " eos" : ""}`);
  }
  forwardUpstream(data: Uint8Array, endOfStream: boolean): void {
    this.events.push(`to client "${Buffer.from(data).toString()}"${endOfStream ? " eos" : ""}`);
  }
  closeDownstream(): void {
    this.events.push("close downstream");
  }
}

export function bytes(text: string): Uint8Array {
  return Buffer.from(text);
}

/** Trace lines without the thread number. */
export function calls(trace: string[]): string[] {
  return trace.map((line) => line.replace(/^\[\d+\] /, ""));
}
