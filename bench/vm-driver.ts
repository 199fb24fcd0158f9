// Drives a wasm plugin's filter as the filter chain would, without sockets: the filter's calls in
// Envoy's order for one TCP connection (docs/envoy-host.md §3), each buffer dropped once the
// filter has seen it. What is measured is the VM and the module, nothing else.

import { setFlagsFromString } from "node:v8";
import { loadEnvoyConfig } from "../host/config/load.ts";
import type { WasmFilterConfig } from "../host/config/model.ts";
import { createLogger } from "../host/log.ts";
import type { LogLevelName } from "../host/loggers.ts";
import { ByteBuffer } from "../host/buffer.ts";
import { metadataJson } from "../host/net/tcp-proxy/cluster.ts";
import { createStatsStore } from "../host/stats.ts";
import {
  startWasmPlugin, type ClusterInfo, type ConnectionFilter, type ConnectionInfo, type HttpCallDispatcher, type HttpCallHandlers,
  type ReadFilterCallbacks, type TraceListener, type UpstreamHostInfo, type WasmPlugin,
} from "../host/wasm/api.ts";

// Every module is compiled by V8's optimizing compiler before it runs: otherwise a module runs its
// baseline code until the optimized code is ready, which on a busy 2-core machine can take
// seconds, and a figure could catch one subject before and another after.
setFlagsFromString("--no-liftoff");

export const ENVOY_CONFIG = "envoy/envoy.yaml";
/** The listener whose chain is [wasm, tcp_proxy]. */
export const MAIN_LISTENER = "main";

/** What the benchmarks take from envoy/envoy.yaml: the plugin config and what tcp_proxy would pick. */
export interface ChainSetting {
  plugin: WasmFilterConfig;
  cluster: ClusterInfo;
  host: UpstreamHostInfo;
}

export function loadChainSetting(): ChainSetting {
  const config = loadEnvoyConfig(ENVOY_CONFIG);
  const listener = config.listeners.find((l) => l.name === MAIN_LISTENER);
  const plugin = listener?.filters.find((f) => f.kind === "wasm");
  const proxy = listener?.filters.find((f) => f.kind === "tcp_proxy");
  const cluster = config.clusters.find((c) => proxy?.kind === "tcp_proxy" && c.name === proxy.cluster);
  if (plugin?.kind !== "wasm" || cluster === undefined || cluster.endpoints.length === 0) {
    throw new Error(`${ENVOY_CONFIG}: listener '${MAIN_LISTENER}' needs a wasm filter and a tcp_proxy to a cluster with an endpoint`);
  }
  const endpoint = cluster.endpoints[0];
  return {
    plugin,
    cluster: { name: cluster.name, metadata: metadataJson(cluster.metadata) },
    host: { address: { ...endpoint.address }, metadata: metadataJson(endpoint.metadata) },
  };
}

/** The cluster a filter's HTTP calls go to in the benchmarks. */
export const AUTHZ_CLUSTER = "authz";

/**
 * HTTP calls to AUTHZ_CLUSTER, answered 200 when the driver says (answerAll), as Envoy's async
 * client would answer them on a later turn of its event loop: no socket, no timer.
 */
class AnsweredHttpCalls implements HttpCallDispatcher {
  private waiting: HttpCallHandlers[] = [];
  private static readonly OK = { headers: [[":status", "200"], ["content-length", "0"]] as const, body: new Uint8Array(0), trailers: [] };

  hasCluster(name: string): boolean {
    return name === AUTHZ_CLUSTER;
  }

  send(_request: unknown, handlers: HttpCallHandlers) {
    this.waiting.push(handlers);
    return { cancel: () => void (this.waiting = this.waiting.filter((waiting) => waiting !== handlers)) };
  }

  answerAll(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const handlers of waiting) handlers.onSuccess(AnsweredHttpCalls.OK);
  }
}

/** Every benchmark plugin's HTTP calls (one at a time: the drivers run connections one after the other). */
export const HTTP_CALLS = new AnsweredHttpCalls();

/**
 * The module in `wasmPath` with the plugin configuration `plugin`, one worker VM, and a logger at
 * `logLevel` whose lines are formatted and then discarded: the cost a user pays for logging,
 * minus the terminal. With `trace`, every call across the ABI is sent there.
 */
export function startPlugin(plugin: WasmFilterConfig, wasmPath: string, logLevel: LogLevelName, trace?: TraceListener): WasmPlugin {
  return startWasmPlugin({
    plugin,
    wasmPath,
    concurrency: 1,
    logger: createLogger({ level: logLevel, componentLevels: {}, write: discard }),
    stats: createStatsStore(),
    propertyNames: "current",
    trace,
    httpCalls: HTTP_CALLS,
  });
}

/** The worker VM's thread in the trace: Envoy's main thread is 1, the first worker 2. */
export const WORKER_THREAD = 2;

function discard(): void {}

/** A chain that goes nowhere: the connection stays open, and nothing follows the filter. */
const DISCARDING_CALLBACKS: ReadFilterCallbacks = {
  connection: { open: true, close: discard },
  continueReading: discard,
};

/** The filter and the stream info tcp_proxy fills in. */
interface DrivenConnection {
  filter: ConnectionFilter;
  info: ConnectionInfo;
}

const EMPTY = new Uint8Array(0);

/** Opens and ends connections on one plugin, as tcp_proxy would after accepting them. */
export class ConnectionDriver {
  private nextSourcePort = 0;

  constructor(
    readonly plugin: WasmPlugin,
    private readonly setting: ChainSetting,
    /** the clients' address */
    private readonly sourceAddress = "127.0.0.1",
  ) {}

  /** Accepted, announced, the cluster picked and the upstream connected: ready for data. */
  open(): ConnectionFilter {
    const { filter, info } = this.accept();
    filter.onNewConnection();
    info.cluster = this.setting.cluster;
    info.upstream = this.setting.host;
    return filter;
  }

  /** The filter of a newly accepted connection, before any callback, and its stream info. */
  accept(): DrivenConnection {
    const info = this.connectionInfo();
    return { filter: this.plugin.createFilter(info, DISCARDING_CALLBACKS), info };
  }

  /** curl's order after the exchange: both ends of stream (the upstream's with its close), the client's close. */
  close(filter: ConnectionFilter): void {
    filter.onData(new ByteBuffer(EMPTY), true);
    filter.onWrite(new ByteBuffer(EMPTY), true);
    filter.onDownstreamClose("remote");
  }

  /** One whole connection: open, `request` downstream, `reply` upstream, close. */
  lifecycle(request: Uint8Array, reply: Uint8Array): void {
    const filter = this.open();
    filter.onData(new ByteBuffer(request), false);
    filter.onWrite(new ByteBuffer(reply), false);
    this.close(filter);
  }

  /** One whole connection held for an HTTP call: open, the call answered, then as lifecycle(). */
  lifecycleAfterAnswer(request: Uint8Array, reply: Uint8Array): void {
    const filter = this.open();
    HTTP_CALLS.answerAll();
    filter.onData(new ByteBuffer(request), false);
    filter.onWrite(new ByteBuffer(reply), false);
    this.close(filter);
  }

  /** A connection the filter refuses in proxy_on_new_connection: no upstream, closed at once. */
  refused(): void {
    const { filter } = this.accept();
    filter.onNewConnection();
    filter.onDownstreamClose("local");
  }

  private connectionInfo(): ConnectionInfo {
    // Source ports cycle through the ephemeral range, as a busy client's would.
    const port = 32768 + (this.nextSourcePort++ % 28000);
    return {
      source: { address: this.sourceAddress, port },
      destination: { address: "127.0.0.1", port: 18000 },
      listenerName: MAIN_LISTENER,
    };
  }
}

/** Linear memory of the VMs that take connections (the workers), in bytes. */
export function workerMemoryBytes(plugin: WasmPlugin): number {
  return plugin
    .diagnostics()
    .filter((vm) => vm.role.startsWith("worker"))
    .reduce((sum, vm) => sum + vm.memoryBytes, 0);
}
