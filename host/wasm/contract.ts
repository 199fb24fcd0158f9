// The contract between the proxy-wasm host (host/wasm) and the rest of the host (host/net,
// host/local-host.ts, host/cli.ts, tests, benchmarks), published by api.ts. The network side only
// ever sees these types: it never touches wasm memory, and the wasm side never touches a socket.

import type { ByteBuffer } from "../buffer.ts";
import type { CallMarker } from "../call-marker.ts";
import type { JsonObject, WasmFilterConfig } from "../config/model.ts";
import type { Logger } from "../log.ts";
import type { StatsStore } from "../stats.ts";
import type { SharedData } from "./shared-data.ts";

// ---------------------------------------------------------------- the network filter

export interface Endpoint {
  address: string;
  port: number;
}

/**
 * What is known of a downstream connection (Envoy's StreamInfo): its addresses when it is
 * accepted; the cluster and the upstream host once tcp_proxy has picked and reached them. The
 * connection owns it; tcp_proxy fills it in; a filter reads it (proxy_get_property).
 */
export interface ConnectionInfo {
  /** the client's address (property source.*); absent, the properties are NotFound */
  source?: Endpoint;
  /** the listener's local address the client reached (property destination.*); absent, NotFound */
  destination?: Endpoint;
  listenerName: string;
  /** the cluster tcp_proxy picked (xds.cluster_name, xds.cluster_metadata); absent before */
  cluster?: ClusterInfo;
  /** the upstream host tcp_proxy connected to (upstream.*, xds.upstream_host_metadata); absent before */
  upstream?: UpstreamHostInfo;
}

/** The cluster tcp_proxy picked (properties xds.cluster_name, xds.cluster_metadata). */
export interface ClusterInfo {
  name: string;
  /** envoy.config.core.v3.Metadata as JSON: `{ filter_metadata: { location: {...} } }` */
  metadata: JsonObject;
}

/** The upstream host tcp_proxy connected to (upstream.*, xds.upstream_host_metadata). */
export interface UpstreamHostInfo {
  address: Endpoint;
  metadata: JsonObject;
}

/** The downstream connection as a filter sees it (what Envoy's Network::Connection offers it). */
export interface FilterConnection {
  /**
   * Envoy's `state() == Open`: no filter has closed it and it has not ended. The chain stops
   * at the first filter after which the connection is no longer open.
   */
  readonly open: boolean;
  /**
   * Close with Envoy's FlushWrite: what was already written to the client goes out first. The
   * connection is no longer open from here on; the socket closes once the filter's call is over.
   */
  close(): void;
}

/** What a read filter may ask of its chain (Envoy's ReadFilterCallbacks). */
export interface ReadFilterCallbacks {
  readonly connection: FilterConnection;
  /**
   * Resume the chain after this filter (Envoy's continueReading): the filters after it that have
   * not had their new connection get it now, then the read buffer, if it holds bytes or the end
   * of stream. A filter that held the chain with StopIteration lets tcp_proxy connect so.
   */
  continueReading(): void;
}

/**
 * What a filter answers for a new connection or a chunk (Envoy's Network::FilterStatus).
 * StopIteration holds the chain at the filter: the filters after it (tcp_proxy last) get
 * nothing, and on data the read buffer keeps the bytes, which the filter sees again with the
 * next read, until it continues (docs/envoy-host.md §3).
 */
export type FilterStatus = "Continue" | "StopIteration";

/** A read filter (Envoy's Network::ReadFilter): the wasm filter, and tcp_proxy, the chain's last. */
export interface ReadFilter {
  onNewConnection(): FilterStatus;
  /** The connection's read buffer, with every byte not yet passed on; the filter may edit it. */
  onData(data: ByteBuffer, endOfStream: boolean): FilterStatus;
}

/**
 * A filter ahead of tcp_proxy, one instance per connection, read and write (Envoy's
 * Network::Filter). The chain calls it in Envoy's order (docs/envoy-host.md §3): onNewConnection;
 * onData per read (end of stream with the last bytes or alone); onWrite per write to the client,
 * in reverse chain order; onDownstreamClose last. It never throws.
 */
export interface ConnectionFilter extends ReadFilter {
  /** the proxy-wasm context id of the connection, for tests and logs; absent for a filter without one */
  readonly contextId?: number;
  /** Bytes on their way to the client (upstream data); the filter may edit them, not hold them. */
  onWrite(data: ByteBuffer, endOfStream: boolean): FilterStatus;
  /** local: this side closed it; remote: the client did. Ends the filter (done/log/delete). */
  onDownstreamClose(peer: "local" | "remote"): void;
}

export interface FilterFactory {
  createFilter(info: ConnectionInfo, callbacks: ReadFilterCallbacks): ConnectionFilter;
}

// ---------------------------------------------------------------- HTTP calls out

/** A header as it crosses the contract: name and value, each byte a char (latin1). */
export type HttpHeader = readonly [name: string, value: string];

/** One request proxy_http_call sends to a cluster (Envoy's AsyncClient::send; docs/envoy-host.md §19). */
export interface HttpCallRequest {
  cluster: string;
  /** as the module gave them: `:method`, `:path` and `:authority` among them */
  headers: readonly HttpHeader[];
  body: Uint8Array;
  trailers: readonly HttpHeader[];
  /** 0: no timeout */
  timeoutMs: number;
}

/** A response: the upstream's, or the local reply Envoy's router makes (503, 504). */
export interface HttpCallResponse {
  /** `:status` first, then the headers in the order received, names lower case */
  headers: readonly HttpHeader[];
  body: Uint8Array;
  trailers: readonly HttpHeader[];
}

/** How the request ends: once, unless cancelled first. */
export interface HttpCallHandlers {
  onSuccess(response: HttpCallResponse): void;
  /** Envoy's onFailure(Reset): the stream was reset after the response had started */
  onFailure(): void;
}

/** A request under way: cancel() and no handler is called any more. */
export interface PendingHttpCall {
  cancel(): void;
}

/**
 * What the network side offers the wasm side for proxy_http_call: the cluster manager's lookup
 * and its async HTTP client. The wasm side never touches a socket.
 */
export interface HttpCallDispatcher {
  /** the cluster exists (Envoy's getThreadLocalCluster) */
  hasCluster(name: string): boolean;
  /** send, and answer through `handlers` later, never from within this call */
  send(request: HttpCallRequest, handlers: HttpCallHandlers): PendingHttpCall;
}

/** Which property names the host answers: Envoy ≥ 1.33 (`xds.*` only) or ≤ 1.24 (top-level only). */
export type PropertyNames = "current" | "legacy";

export interface WasmPluginOptions {
  plugin: WasmFilterConfig;
  /** the module's real path on this machine (the loader maps /etc/envoy/plugin/ to it) */
  wasmPath: string;
  /** --concurrency N: N worker VMs take connections round robin (plus Envoy's main-thread VM) */
  concurrency: number;
  logger: Logger;
  stats: StatsStore;
  propertyNames: PropertyNames;
  /**
   * Receives every call across the ABI as an event (callbacks in and out, host calls, their
   * words and what they mean); traceLines renders them as the CLI's --trace lines. Absent:
   * no trace, at no cost.
   */
  trace?: TraceListener;
  /** marks every call into a VM, for a watchdog on another thread; absent: no marks, at no cost */
  callMarker?: CallMarker;
  /** where proxy_http_call sends its requests; absent: no cluster exists, every call is BadArgument */
  httpCalls?: HttpCallDispatcher;
  /**
   * The process's shared data (proxy_get/set_shared_data), one per process as in Envoy: every
   * plugin given the same store, with the same vm_id, sees the same entries (§20). Absent: a
   * store of the plugin's own.
   */
  sharedData?: SharedData;
}

/** Measurements of one VM, for tests and benchmarks. */
export interface VmDiagnostics {
  /** "canary", "main" or "worker <i>" */
  role: string;
  /** current size of the module's linear memory */
  memoryBytes: number;
  /** bytes the host has copied into wasm memory through malloc'd blocks, since start */
  bytesCopiedIn: number;
  /** calls of the module's malloc by the host, since start */
  mallocCalls: number;
  /** the VM trapped and is out of service */
  failed: boolean;
}

/** A loaded wasm network filter: its VMs started and configured, ready for connections. */
export interface WasmPlugin extends FilterFactory {
  /** connections whose filter has not ended yet, over all VMs */
  readonly activeConnections: number;
  /** one entry per live VM (the main-thread VM first, then the workers) */
  diagnostics(): VmDiagnostics[];
  /**
   * proxy_on_tick on the root context of each VM (main thread's, then workers') whose tick period
   * is set, as each VM's timer would; how many were called. For tests: the timers run anyway.
   */
  tick(): number;
  /** release every VM; later createFilter calls throw */
  close(): void;
}

/**
 * Thrown by startWasmPlugin when Envoy would refuse the configuration:
 * module does not load or link, no ABI marker, no malloc, start/configure returned 0 or trapped.
 * The message is Envoy's, one line.
 */
export class PluginStartError extends Error {
  override name = "PluginStartError";
}

// ---------------------------------------------------------------- the trace

/** A word as it crosses the boundary: i32 as a number (signed), i64 as a BigInt. */
export type Word = number | bigint;

/**
 * What a call's words mean, as named facts (`{ buffer: "NetworkDownstreamData", bytes: 5 }`):
 * tests read it, and the CLI renders it as text. Text that came from the module is escaped and
 * cut, so that it can be printed as it is.
 */
export type Meaning = Readonly<Record<string, string | number | bigint | boolean>>;

/** The host calls a callback (or an entry point) of the module. */
export interface EnterEvent {
  readonly kind: "enter";
  /** the thread of the VM, as its log lines print it */
  readonly thread: number;
  readonly name: string;
  /** the words passed, as many as the export declares */
  readonly args: readonly number[];
  readonly meaning: Meaning;
}

/** A callback returned (not sent for an entry point); a callback that trapped leaves without a result. */
export interface LeaveEvent {
  readonly kind: "leave";
  readonly thread: number;
  readonly name: string;
  /** the word returned; undefined for a callback without a result, or one that trapped */
  readonly result: number | undefined;
  readonly meaning: Meaning;
}

/** The module called the host, and the call returned. */
export interface HostCallEvent {
  readonly kind: "host";
  readonly thread: number;
  readonly name: string;
  /** the words as the module passed them: i32 signed, i64 as BigInt */
  readonly args: readonly Word[];
  readonly result: number | undefined;
  /** the result as the ABI names it (`Ok`, `NotFound`; a WASI errno as its number) */
  readonly resultName: string;
  /** what the words mean, the values the host wrote back into module memory included */
  readonly meaning: Meaning;
}

export type TraceEvent = EnterEvent | LeaveEvent | HostCallEvent;
export type TraceListener = (event: TraceEvent) => void;

