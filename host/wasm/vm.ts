// One VM: an instance of the module with its own memory, contexts and metric ids. It calls the
// module's callbacks (tracing them when asked) and turns a trap into a failed VM (docs/envoy-host.md §8).

import type { WasmFilterConfig } from "../config/model.ts";
import type { Logger } from "../log.ts";
import type { StatsStore } from "../stats.ts";
import type { PropertyNames, VmDiagnostics } from "./api.ts";
import { ConnectionContext, ContextIds, RootContext, type Context, type StreamControl } from "./contexts.ts";
import { ALLOWED_DURING_INSTANTIATION, ALLOWED_DURING_START, ALLOWED_IN_MALLOC, createImports } from "./imports.ts";
import { WasmMemory } from "./memory.ts";
import { MetricIds } from "./metrics.ts";
import { WasmStartError, type WasmCode } from "./module.ts";
import type { ConnectionFacts, PropertyScope } from "./properties.ts";
import type { SharedData } from "./shared-data.ts";
import { Tracer } from "./trace.ts";

/** Where Envoy's wasm VM integration logs a failure. */
const VM_SOURCE = "source/extensions/common/wasm/wasm_vm.cc:38";

export interface VmSetup {
  code: WasmCode;
  plugin: WasmFilterConfig;
  /** "base", "canary", "main" or "worker <i>" */
  role: string;
  /** the thread number printed in its log lines */
  thread: number;
  logger: Logger;
  stats: StatsStore;
  propertyNames: PropertyNames;
  shared: SharedData;
  /** where trace lines go; null when tracing is off */
  trace: ((line: string) => void) | null;
}

type Export = (...args: number[]) => number | undefined;

interface Callback {
  name: string;
  fn: Export;
}

export class WasmVm {
  readonly role: string;
  readonly thread: number;
  readonly plugin: WasmFilterConfig;
  readonly logger: Logger;
  readonly stats: StatsStore;
  readonly shared: SharedData;
  readonly metrics: MetricIds;
  /** null when tracing is off */
  readonly trace: Tracer | null;
  readonly rootProperties: PropertyScope;
  readonly contexts = new Map<number, Context>();
  readonly memory: WasmMemory;
  /** `wasm log <root_id> <vm_id>` and `wasm log <name> <root_id> <vm_id>`, empty parts left out */
  readonly rootLogPrefix: string;
  readonly connectionLogPrefix: string;
  /** the host calls allowed now (during instantiation, the entry points, malloc); null for all */
  allowedCalls: ReadonlySet<string> | null = ALLOWED_DURING_INSTANTIATION;
  /** the context host calls act on: the callback's, or the one set by proxy_set_effective_context */
  effective: Context | null = null;
  failed = false;
  /**
   * proxy_on_done(root) returned 0 at shutdown: proxy_on_delete(root) waits for proxy_done. Set
   * once proxy_on_done has returned, so a proxy_done inside it finds nothing pending (cpp-host
   * `WasmBase::startShutdown`, `WasmBase::done`).
   */
  private rootDonePending = false;
  /** proxy_done came: proxy_on_delete(root) follows the callback it came in */
  private rootDeleteDue = false;
  readonly root: RootContext;
  /** the failure's message, once failed */
  private failure = "";
  private readonly ids = new ContextIds();
  private readonly exports: WebAssembly.Exports;
  private tickTimer: NodeJS.Timeout | undefined;

  private readonly onContextCreate: Callback | undefined;
  private readonly onVmStart: Callback | undefined;
  private readonly onConfigure: Callback | undefined;
  private readonly onNewConnection: Callback | undefined;
  private readonly onDownstreamData: Callback | undefined;
  private readonly onUpstreamData: Callback | undefined;
  private readonly onDownstreamConnectionClose: Callback | undefined;
  private readonly onUpstreamConnectionClose: Callback | undefined;
  private readonly onDone: Callback | undefined;
  private readonly onLog: Callback | undefined;
  private readonly onDelete: Callback | undefined;
  private readonly onTick: Callback | undefined;

  constructor(setup: VmSetup) {
    this.role = setup.role;
    this.thread = setup.thread;
    this.plugin = setup.plugin;
    this.stats = setup.stats;
    this.shared = setup.shared;
    this.trace = setup.trace === null ? null : new Tracer(setup.trace, setup.thread);
    // Traced, a host call's log lines wait for its trace line; untraced, lines go straight out.
    this.logger = this.trace === null ? setup.logger : this.trace.holding(setup.logger);
    this.metrics = new MetricIds(setup.stats);
    this.rootProperties = { plugin: setup.plugin, names: setup.propertyNames };
    this.rootLogPrefix = ["wasm log", setup.plugin.rootId, setup.plugin.vmId].filter((p) => p !== "").join(" ");
    this.connectionLogPrefix = ["wasm log", setup.plugin.name, setup.plugin.rootId, setup.plugin.vmId]
      .filter((p) => p !== "")
      .join(" ");

    this.exports = this.instantiate(setup.code);
    const memory = this.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new WasmStartError("Wasm module is missing memory export");
    const allocate = this.exports[setup.code.allocator] as Export;
    this.memory = new WasmMemory(memory, (size) => this.allocate(allocate, size));
    this.initialize();

    this.onContextCreate = this.callback("proxy_on_context_create");
    this.onVmStart = this.callback("proxy_on_vm_start");
    this.onConfigure = this.callback("proxy_on_configure");
    this.onNewConnection = this.callback("proxy_on_new_connection");
    this.onDownstreamData = this.callback("proxy_on_downstream_data");
    this.onUpstreamData = this.callback("proxy_on_upstream_data");
    this.onDownstreamConnectionClose = this.callback("proxy_on_downstream_connection_close");
    this.onUpstreamConnectionClose = this.callback("proxy_on_upstream_connection_close");
    this.onDone = this.callback("proxy_on_done");
    this.onLog = this.callback("proxy_on_log");
    this.onDelete = this.callback("proxy_on_delete");
    this.onTick = this.callback("proxy_on_tick");
    this.root = new RootContext(this.ids.take());
    this.contexts.set(this.root.id, this.root);
  }

  private instantiate(code: WasmCode): WebAssembly.Exports {
    try {
      return new WebAssembly.Instance(code.module, createImports(this, code.abiVersion)).exports;
    } catch (error) {
      throw new WasmStartError(`Wasm VM failed to start: ${describe(error)}`);
    }
  }

  /** WASI reactor (`_initialize` then `main`) or command (`_start`) entry points, run once. */
  private initialize(): void {
    const entries = this.exports._initialize ? ["_initialize", "main"] : ["_start"];
    this.allowedCalls = ALLOWED_DURING_START;
    try {
      for (const name of entries) {
        const entry = this.exports[name];
        if (typeof entry !== "function") continue;
        if (this.trace) this.trace.callIn(name, [], 0);
        entry();
      }
    } catch (error) {
      throw new WasmStartError(`Wasm VM failed to start: ${describe(error)}`);
    } finally {
      this.allowedCalls = null;
    }
  }

  private allocate(malloc: Export, size: number): number {
    const allowed = this.allowedCalls;
    this.allowedCalls = ALLOWED_IN_MALLOC;
    try {
      return (malloc(size) ?? 0) >>> 0;
    } finally {
      this.allowedCalls = allowed;
    }
  }

  private callback(name: string): Callback | undefined {
    const fn = this.exports[name];
    return typeof fn === "function" ? { name, fn: fn as Export } : undefined;
  }

  /** The root context's start: context_create, vm_start, configure (docs/envoy-host.md §2). */
  startRoot(): void {
    const root = this.root;
    this.invoke(this.onContextCreate, root, 0);
    root.vmConfiguration = new TextEncoder().encode(this.plugin.vmConfiguration);
    const vmStarted = this.onVmStart === undefined || this.invoke(this.onVmStart, root, root.vmConfiguration.length) !== 0;
    root.vmConfiguration = null;
    this.throwIfFailed();
    if (!vmStarted) throw new WasmStartError("Wasm VM failed to start: on_vm_start returned 0");
    root.pluginConfiguration = new TextEncoder().encode(this.plugin.configuration);
    const configured =
      this.onConfigure === undefined || this.invoke(this.onConfigure, root, root.pluginConfiguration.length) !== 0;
    root.pluginConfiguration = null;
    this.throwIfFailed();
    if (!configured) throw new WasmStartError("Wasm VM failed to start: on_configure returned 0");
  }

  private throwIfFailed(): void {
    if (this.failed) throw new WasmStartError(`Wasm VM failed to start: ${this.failure}`);
  }

  // ---------------------------------------------------------------- connection contexts

  createConnection(facts: ConnectionFacts, stream: StreamControl): ConnectionContext {
    const properties = { plugin: this.plugin, names: this.rootProperties.names, connection: facts };
    const context = new ConnectionContext(this.ids.take(), this.root.id, properties, stream);
    this.contexts.set(context.id, context);
    return context;
  }

  contextCreate(context: ConnectionContext): void {
    this.invoke(this.onContextCreate, context, context.rootId);
  }
  newConnection(context: ConnectionContext): number {
    return this.invoke(this.onNewConnection, context);
  }
  downstreamData(context: ConnectionContext, size: number, endOfStream: boolean): number {
    return this.invoke(this.onDownstreamData, context, size, endOfStream ? 1 : 0);
  }
  upstreamData(context: ConnectionContext, size: number, endOfStream: boolean): number {
    return this.invoke(this.onUpstreamData, context, size, endOfStream ? 1 : 0);
  }
  downstreamConnectionClose(context: ConnectionContext, peer: number): void {
    this.invoke(this.onDownstreamConnectionClose, context, peer);
  }
  upstreamConnectionClose(context: ConnectionContext, peer: number): void {
    this.invoke(this.onUpstreamConnectionClose, context, peer);
  }
  /** done, log, delete — skipped on a failed VM; the context is forgotten either way */
  finish(context: ConnectionContext): void {
    this.invoke(this.onDone, context);
    this.invoke(this.onLog, context);
    this.invoke(this.onDelete, context);
    this.contexts.delete(context.id);
  }

  // ---------------------------------------------------------------- calls into the module

  /** Call a callback with the context's id first; a missing export or a failed VM answers 0. */
  private invoke(callback: Callback | undefined, context: Context, a?: number, b?: number): number {
    if (callback === undefined || this.failed) return 0;
    const previous = this.effective;
    this.effective = context;
    if (this.trace) this.trace.callIn(callback.name, [context.id, a!, b!], callback.fn.length);
    let result: number | undefined;
    try {
      result = callback.fn(context.id, a!, b!);
    } catch (error) {
      this.fail(callback.name, error);
    } finally {
      this.effective = previous;
    }
    if (this.trace) this.trace.callOut(callback.name, result);
    if (this.rootDeleteDue) {
      this.rootDeleteDue = false;
      this.invoke(this.onDelete, this.root);
    }
    return result ?? 0;
  }

  private fail(functionName: string, error: unknown): void {
    this.failed = true;
    this.failure = `Function: ${functionName} failed: Uncaught ${describe(error)}`;
    this.stopTicks();
    this.logger.log("wasm", "error", VM_SOURCE, this.failure, this.thread);
  }

  // ---------------------------------------------------------------- timers and shutdown

  setTickPeriod(milliseconds: number): void {
    this.stopTicks();
    if (milliseconds > 0) {
      this.tickTimer = setInterval(() => this.invoke(this.onTick, this.root), milliseconds);
      this.tickTimer.unref();
    }
  }

  private stopTicks(): void {
    clearInterval(this.tickTimer);
    this.tickTimer = undefined;
  }

  /**
   * Envoy's shutdown of a VM (docs/envoy-host.md §2): proxy_on_done(root); a non-zero answer, or
   * no such export, means proxy_on_delete(root) at once; zero means the module is not finished,
   * and the delete waits for its proxy_done.
   */
  shutdown(): void {
    if (this.onDone === undefined || this.invoke(this.onDone, this.root) !== 0) this.invoke(this.onDelete, this.root);
    else this.rootDonePending = true;
    this.stopTicks();
  }

  /**
   * proxy_done from the root context: false unless its done is pending. cpp-host defers the
   * delete until the VM call under way has returned, so that it does not run inside proxy_done.
   */
  rootDone(): boolean {
    if (!this.rootDonePending) return false;
    this.rootDonePending = false;
    this.rootDeleteDue = true;
    return true;
  }

  diagnostics(): VmDiagnostics {
    return {
      role: this.role,
      memoryBytes: this.memory.size,
      bytesCopiedIn: this.memory.bytesCopiedIn,
      mallocCalls: this.memory.mallocCalls,
      failed: this.failed,
    };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
