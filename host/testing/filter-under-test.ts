// A proxy-wasm network filter loaded as Envoy loads it (canary, main-thread and worker VMs, the
// plugin configuration), with its log lines, metrics and, on request, every call across the ABI
// kept for a test to read; connections are scripted with TestConnection.

import type { FailurePolicy, WasmFilterConfig } from "../config/model.ts";
import { createLogger, type AdjustableLogger } from "../log.ts";
import type { LogLevelName } from "../loggers.ts";
import { createStatsStore, type StatsStore } from "../stats.ts";
import {
  PluginStartError,
  startWasmPlugin,
  type ConnectionFilter,
  type ConnectionInfo,
  type FilterFactory,
  type HttpCallDispatcher,
  type PropertyNames,
  type ReadFilterCallbacks,
  type SharedData,
  type TraceEvent,
  type VmDiagnostics,
  type WasmPlugin,
} from "../wasm/api.ts";
import { TestConnection, type ConnectionOptions } from "./test-connection.ts";

export interface FilterOptions {
  /** the module: the path of a .wasm file exporting a proxy-wasm ABI version (0.1.0 to 0.2.1) */
  wasm: string;
  /** the plugin configuration the filter reads in proxy_on_configure (a StringValue's string); "" for none */
  configuration?: string;
  /** PluginConfig.root_id; "" by default */
  rootId?: string;
  /** PluginConfig.name: the plugin's log lines name it; the root id by default */
  name?: string;
  /** vm_config.vm_id; "" by default */
  vmId?: string;
  /** vm_config.configuration, read in proxy_on_vm_start; "" by default */
  vmConfiguration?: string;
  /** the wasm logger's level: which lines are kept and what proxy_get_log_level answers; info by default */
  logLevel?: LogLevelName;
  /** worker VMs taking connections in turn (Envoy's --concurrency); 1 by default */
  concurrency?: number;
  /** property names of Envoy >= 1.33 (`xds.*`, the default) or of Envoy <= 1.24 (`cluster_metadata`, ...) */
  propertyNames?: PropertyNames;
  /** what happens to connections once a VM has failed; FAIL_CLOSED by default */
  failurePolicy?: FailurePolicy;
  /** the deprecated fail_open: true */
  failOpen?: boolean;
  /** FAIL_RELOAD's back-off in ms; 1000 by default */
  reloadBackoffMs?: number;
  /** keep every call across the ABI in `trace` (costs time: for tests that read it) */
  trace?: boolean;
  /** the clock of the log lines' timestamps; Date.now by default */
  now?: () => number;
  /**
   * Where proxy_http_call sends: a ScriptedHttpCalls answers as the test says, without sockets.
   * Absent: no cluster exists, and every call is refused (BadArgument), as Envoy refuses an unknown one.
   */
  httpCalls?: HttpCallDispatcher;
  /**
   * The shared data (proxy_get/set_shared_data): pass one `new SharedData()` to two startFilter
   * calls and, with the same vmId, they see the same entries, as two plugins of one Envoy do.
   * Absent: a store of this filter's own (its VMs, workers included, share it).
   */
  sharedData?: SharedData;
}

/**
 * The filter refused to start, as Envoy would refuse its configuration (a PluginStartError, with
 * Envoy's message); its log lines say why.
 */
export class FilterStartError extends PluginStartError {
  constructor(
    message: string,
    /** every log line printed while it started */
    readonly lines: string[],
    /** the filter's own messages among them, as `FilterUnderTest.messages` gives them */
    readonly messages: string[],
  ) {
    super(message);
  }
}

/**
 * Loads the filter, runs its VMs' start (proxy_on_vm_start, proxy_on_configure on the canary,
 * main-thread and worker VMs) and returns it ready for connections. Throws FilterStartError when
 * Envoy would refuse it: the module does not load, or a start callback returned false or trapped.
 */
export function startFilter(options: FilterOptions): FilterUnderTest {
  const lines: string[] = [];
  const trace: TraceEvent[] = [];
  const stats = createStatsStore();
  const logger = createLogger({
    level: "info",
    componentLevels: { wasm: options.logLevel ?? "info" },
    write: (line) => lines.push(line),
    now: options.now,
  });
  try {
    const plugin = startWasmPlugin({
      plugin: pluginConfig(options),
      wasmPath: options.wasm,
      concurrency: options.concurrency ?? 1,
      logger,
      stats,
      propertyNames: options.propertyNames ?? "current",
      trace: options.trace ? (event) => trace.push(event) : undefined,
      httpCalls: options.httpCalls,
      sharedData: options.sharedData,
    });
    return new FilterUnderTest(plugin, logger, lines, trace, stats);
  } catch (error) {
    if (!(error instanceof PluginStartError)) throw error;
    throw new FilterStartError(error.message, lines, filterMessages(lines));
  }
}

/** The plugin configuration Envoy would build from envoy.yaml for these options. */
function pluginConfig(options: FilterOptions): WasmFilterConfig {
  const rootId = options.rootId ?? "";
  return {
    kind: "wasm",
    filterName: "envoy.filters.network.wasm",
    name: options.name ?? rootId,
    rootId,
    vmId: options.vmId ?? "",
    runtime: "envoy.wasm.runtime.v8",
    code: { kind: "local", filename: options.wasm },
    configuration: options.configuration ?? "",
    vmConfiguration: options.vmConfiguration ?? "",
    failurePolicy: options.failurePolicy ?? (options.failOpen ? "FAIL_OPEN" : "FAIL_CLOSED"),
    legacyFailOpen: options.failOpen ?? false,
    reloadBackoffMs: options.reloadBackoffMs ?? 1000,
  };
}

export class FilterUnderTest implements FilterFactory {
  constructor(
    private readonly plugin: WasmPlugin,
    private readonly logger: AdjustableLogger,
    /** every log line as the host prints it, in Envoy's format: the filter's and the host's */
    readonly lines: string[],
    /** every call across the ABI, when started with `trace: true` (traceLine renders one as text) */
    readonly trace: TraceEvent[],
    /** the Envoy stat store the filter's metrics are in (`wasmcustom.<name>`) */
    readonly stats: StatsStore,
  ) {}

  /** A new client connection, not yet announced to the filter: call its newConnection() next. */
  accept(options?: ConnectionOptions): TestConnection {
    return new TestConnection(this, options);
  }

  /** The filter of a new connection, for a network side of the test's own (TestConnection is one). */
  createFilter(info: ConnectionInfo, callbacks: ReadFilterCallbacks): ConnectionFilter {
    return this.plugin.createFilter(info, callbacks);
  }

  /** A new client connection, announced to the filter (proxy_on_new_connection): see its `newConnectionStatus`. */
  connect(options?: ConnectionOptions): TestConnection {
    const connection = this.accept(options);
    connection.newConnection();
    return connection;
  }

  /**
   * The filter's own log lines (proxy_log), each as `<level> <message>`, the level as Envoy
   * prints it (`warning`) and without the `wasm log <name> <root id>: ` prefix.
   */
  messages(): string[] {
    return filterMessages(this.lines);
  }

  /** A metric the filter defined (proxy_define_metric), summed over its VMs; undefined if never defined. */
  metric(name: string): bigint | undefined {
    return this.stats.get(`wasmcustom.${name}`);
  }

  /** Change the wasm logger's level, as admin /logging?wasm=<level> does; the filter sees it at its next callback. */
  setLogLevel(level: LogLevelName): void {
    this.logger.setLevel("wasm", level);
  }

  /**
   * proxy_on_tick, now, on the root context of each VM (main thread's, then each worker's) whose
   * tick period is set, as its timer would call it; returns how many were called. The VMs' own
   * timers keep running too: a test with a period far longer than itself sees only these ticks.
   */
  tick(): number {
    return this.plugin.tick();
  }

  /** Connections whose filter has not ended (closed) yet. */
  get activeConnections(): number {
    return this.plugin.activeConnections;
  }

  /** The VMs: the main thread's, then each worker's, with their memory and whether they failed. */
  diagnostics(): VmDiagnostics[] {
    return this.plugin.diagnostics();
  }

  /** Shut the VMs down as Envoy does (proxy_on_done, proxy_on_delete on each root context). */
  close(): void {
    this.plugin.close();
  }
}

/** A line a filter logged (proxy_log): `wasm log <name> <root id> <vm id>: `, empty parts left out, then its text. */
const WASM_LOG_LINE = /^\[[^\]]*\]\[\d+\]\[(\w+)\]\[wasm\] \[[^\]]*\] wasm log(?: [^:]*)?: (.*)$/s;

function filterMessages(lines: readonly string[]): string[] {
  return lines.flatMap((line) => {
    const match = WASM_LOG_LINE.exec(line);
    return match === null ? [] : [`${match[1]} ${match[2]}`];
  });
}
