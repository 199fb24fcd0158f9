// A wasm network filter as Envoy loads it (docs/envoy-host.md §1–2, §8): the module checked once, a
// base VM initialized, a canary VM started and discarded, then one VM for the main thread and one
// per worker. Each connection gets a filter on the next worker's VM, or the failure policy's stand-in.

import { MAIN_THREAD, workerThread } from "../log.ts";
import { ON_UPSTREAM_DATA } from "./callbacks.ts";
import type { ConnectionHooks } from "./connection-context.ts";
import {
  PluginStartError,
  type ConnectionFilter,
  type ConnectionInfo,
  type ReadFilterCallbacks,
  type WasmPlugin,
  type WasmPluginOptions,
} from "./contract.ts";
import { FailedVmFilter } from "./failed-vm-filter.ts";
import { loadWasmCode, WasmStartError, type WasmCode } from "./module.ts";
import { SharedData } from "./shared-data.ts";
import { WasmVm } from "./vm.ts";

/** The local host's own source, for the lines it logs that Envoy has no equivalent for. */
const HOST_SOURCE = "host/wasm/wasm-plugin.ts";
/** Envoy's `Wasm::error`, which logs a VM's failure as `Wasm VM failed <message>` (envoy 5fbb163). */
const WASM_ERROR_SOURCE = "source/extensions/common/wasm/wasm.cc:109";

export function startWasmPlugin(options: WasmPluginOptions): WasmPlugin {
  const shared = options.sharedData ?? new SharedData();
  // Held from the first VM to close(), as Envoy's base Wasm holds its vm_id (§20).
  const release = shared.hold(options.plugin.vmId);
  try {
    const code = loadWasmCode(options.wasmPath);
    const createVm = vmCreator(options, code, shared);
    // Envoy's base VM runs the entry points but never gets a root context (§2). Envoy clones the
    // others from it; here they are instantiated from the compiled module, so it is not kept.
    createVm("base", MAIN_THREAD);
    const startVm: VmFactory = (role, thread) => {
      const vm = createVm(role, thread);
      vm.startRoot();
      vm.configureRoot();
      return vm;
    };
    startCanary(createVm("canary", MAIN_THREAD), options);
    const main = startVm("main", MAIN_THREAD);
    const workers = Array.from({ length: Math.max(1, options.concurrency) }, (_, i) => startVm(`worker ${i}`, workerThread(i)));
    return new LoadedWasmPlugin(options, startVm, main, workers, release);
  } catch (error) {
    release();
    if (error instanceof WasmStartError) {
      throw new PluginStartError(`Unable to create Wasm plugin ${options.plugin.name}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Envoy validates the configuration on a throwaway VM before it builds the real ones; a failed
 * start or configure is logged as the VM's failure, once, before the configuration is rejected
 * (cpp-host `WasmHandleBase::canary` → `WasmBase::fail` → Envoy `Wasm::error`; §2).
 */
function startCanary(canary: WasmVm, options: WasmPluginOptions): void {
  const failingWith = (message: string, step: () => void) => {
    try {
      step();
    } catch (error) {
      if (error instanceof WasmStartError) options.logger.log("wasm", "error", WASM_ERROR_SOURCE, `Wasm VM failed ${message}`, canary.thread);
      throw error;
    }
  };
  try {
    failingWith("Failed to start base Wasm", () => canary.startRoot());
    failingWith("Failed to configure base Wasm plugin", () => canary.configureRoot());
  } finally {
    // Dropped whether it passed or not (cpp-host `WasmHandleBase::canary`).
    canary.discard();
  }
}

/** A new VM for a role on a thread: instantiated and initialized (`_initialize`/`main`/`_start`). */
type VmFactory = (role: string, thread: number) => WasmVm;

function vmCreator(options: WasmPluginOptions, code: WasmCode, shared: SharedData): VmFactory {
  const trace = options.trace ?? null;
  return (role, thread) =>
    new WasmVm({
      code,
      plugin: options.plugin,
      role,
      thread,
      logger: options.logger,
      stats: options.stats,
      propertyNames: options.propertyNames,
      shared,
      trace,
      marker: options.callMarker ?? null,
      httpCalls: options.httpCalls ?? null,
    });
}

class LoadedWasmPlugin implements WasmPlugin {
  private active = 0;
  private nextWorker = 0;
  /** Envoy's connection ids (property connection.id) */
  private nextConnectionId = 0n;
  private closed = false;
  private upstreamStopWarned = false;
  /** performance.now() of each worker's last VM load attempt, for FAIL_RELOAD's back-off (§8) */
  private readonly loadedAt: number[];
  private readonly onEnd = (): void => {
    this.active--;
  };
  private readonly hooks: ConnectionHooks = {
    onEnd: this.onEnd,
    onUpstreamStopIteration: (thread) => this.warnUpstreamStop(thread),
  };

  constructor(
    private readonly options: WasmPluginOptions,
    /** a new VM with its root context started */
    private readonly startVm: VmFactory,
    private readonly main: WasmVm,
    private readonly workers: WasmVm[],
    /** lets go of the plugin's vm_id in the shared data */
    private readonly releaseSharedData: () => void,
  ) {
    this.loadedAt = workers.map(() => performance.now());
  }

  get activeConnections(): number {
    return this.active;
  }

  createFilter(info: ConnectionInfo, callbacks: ReadFilterCallbacks): ConnectionFilter {
    if (this.closed) throw new Error(`wasm plugin ${this.options.plugin.name} is closed`);
    const index = this.nextWorker;
    this.nextWorker = (index + 1) % this.workers.length;
    const vm = this.workerVm(index);
    const { failurePolicy, legacyFailOpen } = this.options.plugin;
    this.active++;
    if (vm.failed) return new FailedVmFilter(callbacks, failurePolicy === "FAIL_OPEN", this.onEnd);
    return vm.createConnection({
      facts: { info, connectionId: this.nextConnectionId++ },
      callbacks,
      failOpen: legacyFailOpen,
      hooks: this.hooks,
    });
  }

  /**
   * The worker's VM; under FAIL_RELOAD a failed one is replaced once the back-off has passed since
   * the worker's last load attempt, not since the failure (§8; read in a downstream fork of Envoy,
   * upstream *unverified*).
   */
  private workerVm(index: number): WasmVm {
    const vm = this.workers[index];
    const { failurePolicy, reloadBackoffMs } = this.options.plugin;
    const now = performance.now();
    if (!vm.failed || failurePolicy !== "FAIL_RELOAD" || now - this.loadedAt[index] < reloadBackoffMs) return vm;
    this.loadedAt[index] = now;
    try {
      this.workers[index] = this.startVm(vm.role, vm.thread);
      return this.workers[index];
    } catch (error) {
      if (!(error instanceof WasmStartError)) throw error;
      this.options.logger.log("wasm", "error", HOST_SOURCE, `Wasm VM reload failed: ${error.message}`, vm.thread);
      return vm;
    }
  }

  private warnUpstreamStop(thread: number): void {
    if (this.upstreamStopWarned) return;
    this.upstreamStopWarned = true;
    this.options.logger.log(
      "wasm",
      "warn",
      HOST_SOURCE,
      `${ON_UPSTREAM_DATA.name} returned StopIteration, which is not supported for upstream data: the data is forwarded`,
      thread,
    );
  }

  diagnostics() {
    return [this.main, ...this.workers].map((vm) => vm.diagnostics());
  }

  tick(): number {
    return [this.main, ...this.workers].filter((vm) => vm.tick()).length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const vm of [this.main, ...this.workers]) vm.shutdown();
    this.releaseSharedData();
  }
}
