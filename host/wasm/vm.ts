// One VM: an instance of the module with its own memory, contexts and metric ids. Every call into
// the module passes through invoke (or, for the entry points, initialize; for the allocator,
// allocate), which sets the context host calls act on, records the trace, marks the call for the
// command line's watchdog (§17), and turns a trap into a failed VM (docs/envoy-host.md §8). Host
// calls see the VM only as a HostContext, contexts only as VmServices: nothing outside this file
// touches its state.

import { INSTANTIATION, type CallMarker } from "../call-marker.ts";
import type { WasmFilterConfig } from "../config/model.ts";
import type { Logger } from "../log.ts";
import type { StatsStore } from "../stats.ts";
import { WasmResult, type AbiVersion, type PeerType } from "./abi.ts";
import { MODULE_FUNCTIONS, moduleFunctionNamed } from "./abi-table.ts";
import {
  INITIALIZE,
  MAIN,
  ON_CONFIGURE,
  ON_CONTEXT_CREATE,
  ON_DELETE,
  ON_DONE,
  ON_DOWNSTREAM_CONNECTION_CLOSE,
  ON_DOWNSTREAM_DATA,
  ON_HTTP_CALL_RESPONSE,
  ON_LOG,
  ON_NEW_CONNECTION,
  ON_QUEUE_READY,
  ON_TICK,
  ON_UPSTREAM_CONNECTION_CLOSE,
  ON_UPSTREAM_DATA,
  ON_VM_START,
  START,
} from "./callbacks.ts";
import type { HttpCallDispatcher, PropertyNames, TraceListener, VmDiagnostics } from "./contract.ts";
import { ConnectionContext, type ConnectionCalls, type ConnectionSetup } from "./connection-context.ts";
import { ContextIds, RootContext, type Context, type ContextBase, type VmServices } from "./contexts.ts";
import { createImports } from "./imports.ts";
import { WasmMemory } from "./memory.ts";
import { VmMetrics } from "./metrics.ts";
import { WasmStartError, type WasmCode } from "./module.ts";
import { OutboundHttpCalls, type HttpCallOutcome } from "./outbound-http.ts";
import type { PropertyScope } from "./properties.ts";
import type { SharedData } from "./shared-data.ts";
import { Phase, type Callback, type HostContext } from "./spec.ts";
import { TraceRecorder } from "./trace.ts";

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
  /** the process's shared data; the VM sees its vm_id's area (§20) */
  shared: SharedData;
  /** receives the trace's events; null when tracing is off */
  trace: TraceListener | null;
  /** marks every call into the module for the command line's watchdog; null when none watches */
  marker: CallMarker | null;
  /** where proxy_http_call sends; null: no cluster exists */
  httpCalls: HttpCallDispatcher | null;
}

/** What Envoy's `Context::onHttpCallFailure` sets as the root context's status. */
const HTTP_CALL_FAILURE_STATUS = WasmResult.BrokenConnection;
const HTTP_CALL_FAILURE_MESSAGE = "reset";

type Export = (...words: number[]) => number | undefined;

/** What the call marks of a VM stand for: a callback's name at its slot in the ABI table. */
export const MARKED_CALL_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const callback of MODULE_FUNCTIONS) names[callback.slot] = callback.name;
  return names;
})();

export class WasmVm implements ConnectionCalls {
  readonly role: string;
  readonly thread: number;
  private readonly abiVersion: AbiVersion;
  private readonly logger: Logger;
  /** null when tracing is off */
  private readonly trace: TraceRecorder | null;
  private readonly services: VmServices;
  /** null when no watchdog reads the marks */
  private readonly marker: CallMarker | null;
  /** this VM's id in the marker */
  private readonly markerVm: number;
  /** what host calls see: the memory, the effective context, the phase */
  private readonly host: HostState;
  private readonly contexts = new Map<number, Context>();
  private readonly ids = new ContextIds();
  private readonly exports: WebAssembly.Exports;
  /** the module's function for each callback of the table, by slot; undefined when not exported */
  private readonly bound: Array<Export | undefined> = [];
  private readonly memory: WasmMemory;
  private readonly root: RootContext;
  /** the plugin's configuration, as the PluginConfiguration buffer gives it */
  private readonly pluginConfiguration: Uint8Array;
  private hasFailed = false;
  /** shutdown() has run: no more queue notices */
  private isShutDown = false;
  /** the failure's message, once failed */
  private failure = "";
  /**
   * proxy_on_done(root) returned 0 at shutdown: proxy_on_delete(root) waits for proxy_done. Set
   * once proxy_on_done has returned, so a proxy_done inside it finds nothing pending (cpp-host
   * `WasmBase::startShutdown`, `WasmBase::done`).
   */
  private rootDonePending = false;
  /** how many calls into the module are under way (a deferred action may call in again) */
  private callDepth = 0;
  /** what waits for the outermost call under way to return (cpp-host's DeferAfterCallActions) */
  private afterCallActions: (() => void)[] = [];
  /** set while a tick period is: undefined when none is, and once the VM failed or shut down */
  private tickTimer: NodeJS.Timeout | undefined;
  /** the HTTP calls of the root context still under way */
  private readonly httpCalls: OutboundHttpCalls;

  constructor(setup: VmSetup) {
    this.role = setup.role;
    this.thread = setup.thread;
    this.abiVersion = setup.code.abiVersion;
    this.trace = setup.trace === null ? null : new TraceRecorder(setup.trace, setup.thread);
    // Traced, a host call's log lines wait for its event; untraced, lines go straight out.
    this.logger = this.trace === null ? setup.logger : this.trace.holding(setup.logger);
    this.httpCalls = new OutboundHttpCalls(setup.httpCalls, (token, outcome) => this.httpCallAnswered(token, outcome));
    this.services = this.createServices(setup);
    this.marker = setup.marker;
    this.markerVm = setup.marker?.addVm({ plugin: setup.plugin.name, role: setup.role, thread: setup.thread }) ?? 0;
    this.pluginConfiguration = new TextEncoder().encode(setup.plugin.configuration);
    this.host = new HostState(new RootContext(0, this.services), this.contexts);

    this.exports = this.instantiate(setup.code);
    const memory = this.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new WasmStartError("Wasm module is missing memory export");
    const allocate = this.exports[setup.code.allocator] as Export;
    const allocatorSlot = moduleFunctionNamed(setup.code.allocator)!.slot;
    this.memory = new WasmMemory(memory, (size) => this.allocate(allocate, allocatorSlot, size));
    this.host.memory = this.memory;
    for (const callback of MODULE_FUNCTIONS) {
      const fn = this.exports[callback.name];
      this.bound[callback.slot] = typeof fn === "function" ? (fn as Export) : undefined;
    }
    this.initialize();
    this.root = new RootContext(this.ids.take(), this.services);
    this.contexts.set(this.root.id, this.root);
  }

  get failed(): boolean {
    return this.hasFailed;
  }

  private createServices(setup: VmSetup): VmServices {
    const { plugin } = setup;
    const { queues } = setup.shared;
    const vm = this;
    return {
      thread: setup.thread,
      logger: this.logger,
      metrics: new VmMetrics(setup.stats),
      shared: setup.shared.of(plugin.vmId),
      queues: {
        // Envoy posts the notice to the registering VM's dispatcher (`Wasm::callOnThreadFunction`):
        // it runs later, on a turn of its own, as setImmediate does here.
        register: (name, contextId) => queues.register(plugin.vmId, name, (token) => setImmediate(() => vm.queueReady(contextId, token))),
        resolve: (vmId, name) => queues.resolve(vmId === "" ? plugin.vmId : vmId, name),
        enqueue: (token, value) => queues.enqueue(token, value),
        dequeue: (token) => queues.dequeue(token),
      },
      rootProperties: { plugin, names: setup.propertyNames } satisfies PropertyScope,
      vmConfiguration: new TextEncoder().encode(plugin.vmConfiguration),
      rootLogPrefix: ["wasm log", plugin.rootId, plugin.vmId].filter((p) => p !== "").join(" "),
      connectionLogPrefix: ["wasm log", plugin.name, plugin.rootId, plugin.vmId].filter((p) => p !== "").join(" "),
      setTickPeriod: (milliseconds) => vm.setTickPeriod(milliseconds),
      done: (context) => vm.rootDone(context),
      afterCall: (action) => vm.afterCall(action),
      abiVersion: setup.code.abiVersion,
      root: () => vm.root,
      httpCall: (request) => vm.httpCalls.dispatch(request),
    };
  }

  /** The module instantiated; its start function, if it has one, runs here. */
  private instantiate(code: WasmCode): WebAssembly.Exports {
    this.marker?.enter(this.markerVm, INSTANTIATION, 0);
    try {
      return new WebAssembly.Instance(code.module, createImports(this.host, code.abiVersion, this.trace)).exports;
    } catch (error) {
      throw new WasmStartError(`Wasm VM failed to start: ${describe(error)}`);
    } finally {
      this.marker?.leave();
    }
  }

  /** WASI reactor (`_initialize` then `main(0, 0)`) or command (`_start`) entry points, run once. */
  private initialize(): void {
    const entries = this.bound[INITIALIZE.slot] ? [INITIALIZE, MAIN] : [START];
    this.host.phase = Phase.Start;
    try {
      for (const entry of entries) {
        const fn = this.bound[entry.slot];
        if (fn === undefined) continue;
        if (this.trace) this.trace.enter(entry, []);
        this.marker?.enter(this.markerVm, entry.slot, 0);
        try {
          // main(argc 0, argv 0), as cpp-host calls it; the others take nothing
          fn(0, 0);
        } finally {
          this.marker?.leave();
        }
      }
    } catch (error) {
      throw new WasmStartError(`Wasm VM failed to start: ${describe(error)}`);
    } finally {
      this.host.phase = Phase.Callback;
    }
  }

  private allocate(malloc: Export, slot: number, size: number): number {
    const host = this.host;
    const phase = host.phase;
    host.phase = Phase.Malloc;
    const marker = this.marker;
    if (marker !== null) marker.enter(this.markerVm, slot, host.context.id);
    try {
      return (malloc(size) ?? 0) >>> 0;
    } finally {
      host.phase = phase;
      if (marker !== null) marker.leave();
    }
  }

  /**
   * The root context's start: context_create then vm_start (docs/envoy-host.md §2), as cpp-host's
   * `WasmBase::start`. The plugin configuration is readable in context_create (cpp-host
   * `ContextBase::onStart` sets the plugin around that call only) and in configure.
   */
  startRoot(): void {
    const root = this.root;
    root.pluginConfiguration = this.pluginConfiguration;
    this.invoke(ON_CONTEXT_CREATE, root, 0);
    root.pluginConfiguration = null;
    const vmConfigurationSize = this.services.vmConfiguration.length;
    const vmStarted = !this.bound[ON_VM_START.slot] || this.invoke(ON_VM_START, root, vmConfigurationSize) !== 0;
    this.throwIfFailed();
    if (!vmStarted) throw new WasmStartError("Wasm VM failed to start: on_vm_start returned 0");
  }

  /** The root context's configure, after its start (cpp-host `WasmBase::configure`). */
  configureRoot(): void {
    const root = this.root;
    root.pluginConfiguration = this.pluginConfiguration;
    const configured = !this.bound[ON_CONFIGURE.slot] || this.invoke(ON_CONFIGURE, root, root.pluginConfiguration.length) !== 0;
    root.pluginConfiguration = null;
    this.throwIfFailed();
    if (!configured) throw new WasmStartError("Wasm VM failed to start: on_configure returned 0");
  }

  private throwIfFailed(): void {
    if (this.hasFailed) throw new WasmStartError(`Wasm VM failed to start: ${this.failure}`);
  }

  // ---------------------------------------------------------------- connection contexts

  /** A connection's context, which is its network filter too. */
  createConnection(setup: ConnectionSetup): ConnectionContext {
    const context = new ConnectionContext(this.ids.take(), this.root.id, this.services, this, setup);
    this.contexts.set(context.id, context);
    return context;
  }

  contextCreate(context: ConnectionContext): void {
    this.invoke(ON_CONTEXT_CREATE, context, context.rootId);
  }
  newConnection(context: ConnectionContext): number {
    return this.invoke(ON_NEW_CONNECTION, context);
  }
  downstreamData(context: ConnectionContext, size: number, endOfStream: boolean): number {
    return this.invoke(ON_DOWNSTREAM_DATA, context, size, endOfStream ? 1 : 0);
  }
  upstreamData(context: ConnectionContext, size: number, endOfStream: boolean): number {
    return this.invoke(ON_UPSTREAM_DATA, context, size, endOfStream ? 1 : 0);
  }
  downstreamConnectionClose(context: ConnectionContext, peer: PeerType): void {
    this.invoke(ON_DOWNSTREAM_CONNECTION_CLOSE, context, peer);
  }
  upstreamConnectionClose(context: ConnectionContext, peer: PeerType): void {
    this.invoke(ON_UPSTREAM_CONNECTION_CLOSE, context, peer);
  }
  /** done, log, delete — skipped on a failed VM; the context is forgotten either way */
  finish(context: ConnectionContext): void {
    this.invoke(ON_DONE, context);
    this.invoke(ON_LOG, context);
    this.invoke(ON_DELETE, context);
    this.contexts.delete(context.id);
  }

  // ---------------------------------------------------------------- calls into the module

  /**
   * Call a callback with the context's id and the callback's other words (at most four: the
   * ABI's callbacks take five words at the most); a missing export or a failed VM answers 0.
   */
  private invoke(callback: Callback, context: Context, a?: number, b?: number, c?: number, d?: number): number {
    const fn = this.bound[callback.slot];
    if (fn === undefined || this.hasFailed) return 0;
    const host = this.host;
    const previous = host.context;
    host.context = context;
    if (this.trace) {
      const arity = callback.signature(this.abiVersion).params.length;
      this.trace.enter(callback, [context.id, a!, b!, c!, d!].slice(0, arity));
    }
    const marker = this.marker;
    if (marker !== null) marker.enter(this.markerVm, callback.slot, context.id);
    let result: number | undefined;
    this.callDepth++;
    try {
      result = fn(context.id, a!, b!, c!, d!);
    } catch (error) {
      this.fail(callback.name, error);
    } finally {
      host.context = previous;
      this.callDepth--;
      if (marker !== null) marker.leave();
    }
    if (this.trace) this.trace.leave(callback, result);
    if (this.callDepth === 0 && this.afterCallActions.length > 0) this.runAfterCallActions();
    return result ?? 0;
  }

  private afterCall(action: () => void): void {
    if (this.callDepth === 0) action();
    else this.afterCallActions.push(action);
  }

  /** In the order they were asked for; an action that calls the module again runs its own. */
  private runAfterCallActions(): void {
    const actions = this.afterCallActions;
    this.afterCallActions = [];
    for (const action of actions) action();
  }

  /**
   * A call's answer, to the root context that made it (Envoy `Context::onHttpCallSuccess` and
   * `onHttpCallFailure`): deferred while a call into the module is under way; the response, or
   * a failure's status, readable until the callback has returned, cleared before the actions it
   * deferred run. A failed VM, or a module without the callback, hears nothing.
   */
  private httpCallAnswered(token: number, outcome: HttpCallOutcome): void {
    if (this.callDepth > 0) {
      this.afterCall(() => this.httpCallAnswered(token, outcome));
      return;
    }
    if (this.hasFailed || !this.bound[ON_HTTP_CALL_RESPONSE.slot]) return;
    const root = this.root;
    root.callResponse = outcome;
    if (outcome === null) {
      root.statusCode = HTTP_CALL_FAILURE_STATUS;
      root.statusMessage = HTTP_CALL_FAILURE_MESSAGE;
    }
    // Envoy queues the clean-up before it calls the module: it runs before the callback's own actions.
    this.afterCallActions.unshift(() => {
      root.callResponse = null;
      root.statusMessage = "";
    });
    const counts = outcome === null ? [0, 0, 0] : [outcome.headers.length, outcome.body.length, outcome.trailers.length];
    this.invoke(ON_HTTP_CALL_RESPONSE, root, token, counts[0], counts[1], counts[2]);
  }

  /**
   * A queue this VM registered has data: proxy_on_queue_ready on the context that registered it
   * (cpp-host `SharedQueue::enqueue` → `ContextBase::onQueueReady`); nothing once the VM has
   * failed or shut down, or the context is gone.
   */
  private queueReady(contextId: number, token: number): void {
    const context = this.contexts.get(contextId);
    if (context === undefined || this.isShutDown) return;
    this.invoke(ON_QUEUE_READY, context, token);
  }

  private fail(functionName: string, error: unknown): void {
    this.hasFailed = true;
    this.failure = `Function: ${functionName} failed: Uncaught ${describe(error)}`;
    this.stopTicks();
    this.logger.log("wasm", "error", VM_SOURCE, this.failure, this.thread);
  }

  // ---------------------------------------------------------------- timers and shutdown

  /**
   * Each VM's root context has its own timer on its own thread (Envoy `Wasm::setTimerPeriod`,
   * keyed by the root context's id; §20): a new period replaces the old one, 0 stops it.
   */
  private setTickPeriod(milliseconds: number): void {
    this.stopTicks();
    if (milliseconds > 0) {
      this.tickTimer = setInterval(() => this.tick(), milliseconds);
      this.tickTimer.unref();
    }
  }

  private stopTicks(): void {
    clearInterval(this.tickTimer);
    this.tickTimer = undefined;
  }

  /**
   * proxy_on_tick(root), as Envoy's `Wasm::tickHandler` calls it when the timer fires; false when
   * no period is set, or the VM failed or has shut down (no tick then).
   */
  tick(): boolean {
    if (this.tickTimer === undefined) return false;
    this.invoke(ON_TICK, this.root);
    return true;
  }

  /**
   * Envoy's shutdown of a VM (docs/envoy-host.md §2): proxy_on_done(root); a non-zero answer, or
   * no such export, means proxy_on_delete(root) at once; zero means the module is not finished,
   * and the delete waits for its proxy_done.
   */
  shutdown(): void {
    this.isShutDown = true;
    if (!this.bound[ON_DONE.slot] || this.invoke(ON_DONE, this.root) !== 0) this.deleteRoot();
    else this.rootDonePending = true;
    this.stopTicks();
  }

  /**
   * The canary once configured: cpp-host `WasmHandleBase::canary` kill()s its handle, with no
   * proxy_on_done or proxy_on_delete (§2), and its Wasm goes with its timers (Envoy `Wasm::timer_`),
   * so it never ticks (§21).
   */
  discard(): void {
    this.stopTicks();
  }

  /** proxy_on_delete(root), then the root context is gone: its HTTP calls are cancelled (Envoy `Context::~Context`). */
  private deleteRoot(): void {
    this.invoke(ON_DELETE, this.root);
    this.httpCalls.cancelAll();
  }

  /**
   * proxy_done: false unless it comes from the root context and its done is pending. cpp-host
   * defers the delete until the VM call under way has returned, so that it does not run inside
   * proxy_done.
   */
  private rootDone(context: ContextBase): boolean {
    if (context !== this.root || !this.rootDonePending) return false;
    this.rootDonePending = false;
    this.afterCall(() => this.deleteRoot());
    return true;
  }

  diagnostics(): VmDiagnostics {
    return {
      role: this.role,
      memoryBytes: this.memory.size,
      bytesCopiedIn: this.memory.bytesCopiedIn,
      mallocCalls: this.memory.mallocCalls,
      failed: this.hasFailed,
    };
  }
}

/**
 * The VM's side of HostContext: plain fields the VM keeps current, which host calls read as they
 * are (a getter per read would cost more than the calls themselves, in the hottest path).
 */
class HostState implements HostContext {
  memory!: WasmMemory;
  /** the context host calls act on: the callback's, or the one set by proxy_set_effective_context */
  context: Context;
  phase = Phase.Instantiation;

  constructor(
    /** the VM's own context (id 0): current outside callbacks */
    vmContext: RootContext,
    private readonly contexts: ReadonlyMap<number, Context>,
  ) {
    this.context = vmContext;
  }

  setEffectiveContext(id: number): boolean {
    const context = this.contexts.get(id);
    if (context === undefined) return false;
    this.context = context;
    return true;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
