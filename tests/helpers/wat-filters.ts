// Test modules (WAT) as filters under test: started through the testing API (host/testing) with
// a fixed clock and the trace kept, and the trace's events as the tests compare them.

import type { WasmFilterConfig } from "../../host/config/model.ts";
import type { LogLevelName } from "../../host/loggers.ts";
import type { StatsStore } from "../../host/stats.ts";
import { startFilter, type FilterUnderTest } from "../../host/testing/index.ts";
import type { HttpCallDispatcher, Meaning, PropertyNames, SharedData, TraceEvent, Word } from "../../host/wasm/api.ts";
import { writeWat } from "./wat.ts";

// Log lines carry local time: tests pin the zone and the clock.
process.env.TZ = "UTC";
export const NOW = Date.UTC(2026, 10, 25, 10, 0, 0);
export const TIMESTAMP = "[2026-11-25 10:00:00.000]";

/** The plugin configuration of envoy/envoy.yaml's logger, for tests that start a plugin with startWasmPlugin. */
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
  plugin?: Partial<Pick<WasmFilterConfig, "name" | "rootId" | "vmId" | "configuration" | "vmConfiguration" | "failurePolicy" | "legacyFailOpen" | "reloadBackoffMs">>;
  concurrency?: number;
  propertyNames?: PropertyNames;
  level?: LogLevelName;
  /** a prebuilt module file instead of WAT text */
  wasmPath?: string;
  /** where proxy_http_call sends (a ScriptedHttpCalls); absent: no cluster exists */
  httpCalls?: HttpCallDispatcher;
  /** the shared data, to share one store between plugins; absent: the plugin's own */
  sharedData?: SharedData;
}

export interface TestPlugin {
  plugin: FilterUnderTest;
  /** log lines as printed */
  lines: string[];
  /** every call across the ABI, as events (traceLine renders one as the CLI prints it) */
  trace: TraceEvent[];
  stats: StatsStore;
}

/** A WAT module (or a built one) under test as envoy/envoy.yaml's plugin, on the fixed clock, traced. */
export function startTestPlugin(wat: string | null, options: TestPluginOptions = {}): TestPlugin {
  const config = pluginConfig(options.plugin);
  const plugin = startFilter({
    wasm: options.wasmPath ?? writeWat(wat!),
    name: config.name,
    rootId: config.rootId,
    vmId: config.vmId,
    configuration: config.configuration,
    vmConfiguration: config.vmConfiguration,
    failurePolicy: config.failurePolicy,
    failOpen: config.legacyFailOpen,
    reloadBackoffMs: config.reloadBackoffMs,
    concurrency: options.concurrency,
    propertyNames: options.propertyNames,
    logLevel: options.level ?? "info",
    trace: true,
    now: () => NOW,
    httpCalls: options.httpCalls,
    sharedData: options.sharedData,
  });
  return { plugin, lines: plugin.lines, trace: plugin.trace, stats: plugin.stats };
}

export function bytes(text: string): Uint8Array {
  return Buffer.from(text);
}

/**
 * A trace event as the tests compare it: what was called, with which words, what it returned
 * (a host call's result by its ABI name) and what the host made of it; the thread left out.
 */
export type Traced =
  | { kind: "enter"; name: string; args: readonly number[]; meaning: Meaning }
  | { kind: "leave"; name: string; result: number | undefined; meaning: Meaning }
  | { kind: "host"; name: string; args: readonly Word[]; result: string; meaning: Meaning };

export function traced(events: readonly TraceEvent[]): Traced[] {
  return events.map((event) => {
    switch (event.kind) {
      case "enter":
        return enter(event.name, event.args, event.meaning);
      case "leave":
        return leave(event.name, event.result, event.meaning);
      case "host":
        return host(event.name, event.args, event.resultName, event.meaning);
    }
  });
}

/** As traced, each event with its VM's thread: for the tests of which VM was called. */
export function tracedOnThreads(events: readonly TraceEvent[]): Array<Traced & { thread: number }> {
  return events.map((event, i) => on(event.thread, traced(events.slice(i, i + 1))[0]));
}

/** An event of the VM on this thread. */
export function on(thread: number, event: Traced): Traced & { thread: number } {
  return { ...event, thread };
}

/** The host calls of a trace, in order. */
export function hostCalls(events: readonly TraceEvent[]): Array<Extract<Traced, { kind: "host" }>> {
  return traced(events).filter((event) => event.kind === "host");
}

/** The callbacks (and entry points) the host called, in order. */
export function callbacks(events: readonly TraceEvent[]): Traced[] {
  return traced(events).filter((event) => event.kind === "enter");
}

/** The host called `name` of the module with these words. */
export function enter(name: string, args: readonly number[], meaning: Meaning = {}): Traced {
  return { kind: "enter", name, args, meaning };
}

/** `name` returned this word (undefined: no result, or it trapped). */
export function leave(name: string, result?: number, meaning: Meaning = {}): Traced {
  return { kind: "leave", name, result, meaning };
}

/** The module called the host's `name` with these words, and it answered `result`. */
export function host(name: string, args: readonly Word[], result: string, meaning: Meaning = {}): Traced {
  return { kind: "host", name, args, result, meaning };
}
