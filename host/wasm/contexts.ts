// The contexts of one VM (docs/envoy-host.md §2–3) and what the ABI means in each: the VM's own
// (id 0, current outside callbacks), a root context, then one context per connection
// (connection-context.ts). Ids count from 1 per VM and are never reused. Host calls
// (host-calls/) only move words between module memory and these methods; what a call does, and
// answers, is decided here.

import type { Logger } from "../log.ts";
import { LOG_LEVELS, type LineLevel } from "../loggers.ts";
import { BufferType, HeaderMapType, MetricType, StreamType, V0_1_0, WasmResult, type AbiVersion } from "./abi.ts";
import { concatBytes, decodeUtf8, EMPTY_BYTES, joinBytes } from "./bytes.ts";
import type { HttpCallRequest, HttpCallResponse, HttpHeader } from "./contract.ts";
import type { Metric, VmMetrics } from "./metrics.ts";
import type { DispatchResult } from "./outbound-http.ts";
import { readProperty, type PropertyScope } from "./properties.ts";
import type { SharedEntry, VmSharedData } from "./shared-data.ts";

/**
 * Where Envoy's wasm Context logs a module's line (proxy_log, fd_write): `Context::log` has one
 * ENVOY_LOG per level, each on its own line of context.cc (Envoy 1.39.0; docs/envoy-host.md §7).
 */
const CONTEXT_CC = "source/extensions/common/wasm/context.cc";
const CONTEXT_LOG_LINES: Record<LineLevel, number> = { trace: 1145, debug: 1148, info: 1151, warn: 1154, error: 1157, critical: 1160 };
/** `context.cc:<line>` of each level, made once: a line is logged per callback. */
const CONTEXT_LOG_SOURCES = Object.fromEntries(
  Object.entries(CONTEXT_LOG_LINES).map(([level, line]) => [level, `${CONTEXT_CC}:${line}`]),
) as Record<LineLevel, string>;
/** `Context::error`, which cpp-host's proc_exit calls: ENVOY_LOG(trace, message) (Envoy 1.39.0). */
const CONTEXT_ERROR_LINE = 196;
const OFF = LOG_LEVELS.indexOf("off");

/** What a context needs of its VM: the VM implements it. */
export interface VmServices {
  readonly thread: number;
  readonly abiVersion: AbiVersion;
  readonly logger: Logger;
  readonly metrics: VmMetrics;
  /** the shared data of the VM's vm_id (§20) */
  readonly shared: VmSharedData;
  readonly queues: VmQueues;
  /** the properties of a root context: the plugin's */
  readonly rootProperties: PropertyScope;
  /** the VmConfiguration buffer, which every context of the VM can read at any time (§2) */
  readonly vmConfiguration: Uint8Array;
  /** `wasm log <root_id> <vm_id>` and `wasm log <name> <root_id> <vm_id>`, empty parts left out */
  readonly rootLogPrefix: string;
  readonly connectionLogPrefix: string;
  setTickPeriod(milliseconds: number): void;
  /** proxy_done: true when it finishes this context's pending shutdown */
  done(context: ContextBase): boolean;
  /**
   * Run `action` once the VM call under way has returned, the outermost one when calls nest
   * (cpp-host's DeferAfterCallActions): how stream calls act on the connection (§3).
   */
  afterCall(action: () => void): void;
  /** the VM's root context: the one cpp-host's root_context() finds from any of its contexts */
  root(): RootContext;
  /** proxy_http_call, made on the root context (§19) */
  httpCall(request: HttpCallRequest): DispatchResult;
}

/** The process's shared queues as one VM uses them (§20). */
export interface VmQueues {
  /** the queue's token; proxy_on_queue_ready will go to this VM's context `contextId` */
  register(name: string, contextId: number): number;
  /** the token of the vm_id's queue ("" for the VM's own vm_id); 0 when none */
  resolve(vmId: string, name: string): number;
  enqueue(token: number, value: Uint8Array): WasmResult;
  dequeue(token: number): Uint8Array | WasmResult;
}

/** What every context answers alike; the VM-wide calls (metrics, ticks, shared data) go to its VM. */
export abstract class ContextBase {
  constructor(
    readonly id: number,
    protected readonly vm: VmServices,
  ) {}

  protected abstract get logPrefix(): string;

  // ---------------------------------------------------------------- logging (§7)

  logEnabled(level: LineLevel): boolean {
    return this.vm.logger.enabled("wasm", level);
  }

  /**
   * proxy_log, and a WASI write (in parts): one line on the wasm logger, read only when printed.
   * Envoy writes the module's bytes as they are: text when they are UTF-8, else the bytes.
   */
  log(level: LineLevel, message: Uint8Array | readonly Uint8Array[]): void {
    if (!this.logEnabled(level)) return;
    const bytes = message instanceof Uint8Array ? message : joinBytes(message);
    const text = decodeUtf8(bytes);
    const prefix = `${this.logPrefix}: `;
    const line = text !== null ? prefix + text : concatBytes(Buffer.from(prefix), bytes);
    this.vm.logger.log("wasm", level, CONTEXT_LOG_SOURCES[level], line, this.vm.thread);
  }

  /** proxy_get_log_level: the wasm logger's level as the ABI numbers it (off 6). */
  logLevel(): number {
    for (let level = 0; level < OFF; level++) if (this.logEnabled(LOG_LEVELS[level] as LineLevel)) return level;
    return OFF;
  }

  /**
   * WASI proc_exit: logged at trace only; the trap that follows is what fails the VM (§8).
   * cpp-host registers one function under both WASI module names, and it names the old one.
   */
  procExit(): void {
    this.vm.logger.log("wasm", "trace", `${CONTEXT_CC}:${CONTEXT_ERROR_LINE}`, "wasi_unstable proc_exit", this.vm.thread);
  }

  // ---------------------------------------------------------------- buffers (§4)

  /**
   * The buffer a get call reads; null answers NotFound. Network data is empty outside its
   * callback; the VM configuration is the VM's, in every context (Envoy `Context::getBuffer`).
   */
  buffer(type: BufferType): Uint8Array | null {
    if (type === BufferType.VmConfiguration) return this.vm.vmConfiguration;
    if (type === BufferType.HttpCallResponseBody) return this.root.callResponse?.body ?? null;
    return type === BufferType.NetworkDownstreamData || type === BufferType.NetworkUpstreamData ? EMPTY_BYTES : null;
  }

  /** proxy_get_buffer_bytes: the range, clamped to the buffer; null when there is no such buffer. */
  readBuffer(type: BufferType, start: number, length: number): Uint8Array | null {
    const buffer = this.buffer(type);
    if (buffer === null) return null;
    const from = Math.min(start, buffer.length);
    const to = Math.min(from + length, buffer.length);
    return from === to ? EMPTY_BYTES : buffer.subarray(from, to);
  }

  /**
   * proxy_set_buffer_bytes: only a connection's network data can be edited. The configuration
   * buffers are read-only. `data` is null when the module
   * pointed outside its memory.
   */
  setBuffer(type: BufferType, _start: number, _length: number, _data: Uint8Array | null): WasmResult {
    return !isNetworkData(type) && this.buffer(type) !== null ? WasmResult.BadArgument : WasmResult.NotFound;
  }

  // ---------------------------------------------------------------- properties (§5)

  /**
   * proxy_get_property: the value at `path` (segments joined by NUL), encoded; or why not. Envoy
   * compares each segment's bytes with a key's: bytes that are not UTF-8 name no key (keys are
   * text), so such a path is NotFound, never read as the U+FFFD a replacing decoder would make.
   */
  getProperty(path: Uint8Array): Uint8Array | WasmResult {
    return readPropertyAt(this.vm.rootProperties, path);
  }

  /** proxy_set_property: a root context has no stream to keep properties on. */
  setProperty(_path: Uint8Array, _value: Uint8Array): WasmResult {
    return WasmResult.NotFound;
  }

  // ---------------------------------------------------------------- metrics (§6), shared by the VM

  defineMetric(type: MetricType, name: string): number {
    return this.vm.metrics.define(type, name);
  }
  incrementMetric(id: number, offset: bigint): WasmResult {
    return this.vm.metrics.increment(id, offset);
  }
  recordMetric(id: number, value: bigint): WasmResult {
    return this.vm.metrics.record(id, value);
  }
  metricValue(id: number): bigint | WasmResult {
    return this.vm.metrics.value(id);
  }
  metric(id: number): Metric | undefined {
    return this.vm.metrics.get(id);
  }

  // ---------------------------------------------------------------- streams (§3)

  /**
   * proxy_continue_stream: Downstream resumes a connection's chain (connection-context.ts); a
   * root context has no stream to resume, and there is nothing to resume on the HTTP streams of
   * a TCP connection; Upstream is not implemented.
   */
  continueStream(type: StreamType): WasmResult {
    if (StreamType[type] === undefined) return WasmResult.BadArgument;
    return type === StreamType.Upstream ? WasmResult.Unimplemented : WasmResult.Ok;
  }

  /** proxy_close_stream: a connection context closes its connection; elsewhere nothing to close. */
  closeStream(type: StreamType): WasmResult {
    return StreamType[type] === undefined ? WasmResult.BadArgument : WasmResult.Ok;
  }

  /** proxy_done: NotFound unless it finishes a pending shutdown of this root context. */
  done(): WasmResult {
    return this.vm.done(this) ? WasmResult.Ok : WasmResult.NotFound;
  }

  // ---------------------------------------------------------------- HTTP calls out (§19)

  /** cpp-host's root_context(): the plugin's root context, from a connection's too. */
  get root(): RootContext {
    return this.vm.root();
  }

  /** proxy_http_call: cpp-host makes every call on the root context, whichever context asks. */
  httpCall(request: HttpCallRequest): DispatchResult {
    return this.vm.httpCall(request);
  }

  /**
   * proxy_get_header_map_value. Only a call's response is a map here, and only while
   * proxy_on_http_call_response runs (Envoy reads it from the root context): without it, or for
   * an HTTP stream's map, BadArgument. A missing name is NotFound, or "" under ABI 0.1.0.
   */
  headerMapValue(type: HeaderMapType, name: string): string | WasmResult {
    const map = this.callResponseMap(type);
    if (map === null) return WasmResult.BadArgument;
    const key = name.toLowerCase();
    const entry = map.find(([candidate]) => candidate === key);
    if (entry !== undefined) return entry[1];
    return this.vm.abiVersion === V0_1_0 ? "" : WasmResult.NotFound;
  }

  /**
   * proxy_get_header_map_pairs: a call response's map, or no pairs when there is none (Envoy
   * `Context::getHeaderMapPairs`); the HTTP stream's maps answer BadArgument on a TCP connection.
   */
  headerMapPairs(type: HeaderMapType): readonly HttpHeader[] | WasmResult {
    if (!isCallResponseMap(type)) return WasmResult.BadArgument;
    return this.callResponseMap(type) ?? [];
  }

  /** The response's headers or trailers while its callback runs; null otherwise or when it has no trailers. */
  private callResponseMap(type: HeaderMapType): readonly HttpHeader[] | null {
    const response = this.root.callResponse;
    if (response === null || !isCallResponseMap(type)) return null;
    if (type === HeaderMapType.HttpCallResponseHeaders) return response.headers;
    return response.trailers.length > 0 ? response.trailers : null;
  }

  /** proxy_get_status: the root context's status (a failed call's BrokenConnection and "reset"). */
  status(): readonly [code: number, message: string] {
    const root = this.root;
    return [root.statusCode, root.statusMessage];
  }

  // ---------------------------------------------------------------- timers and shared data

  setTickPeriod(milliseconds: number): WasmResult {
    this.vm.setTickPeriod(milliseconds);
    return WasmResult.Ok;
  }

  currentTimeNanoseconds(): bigint {
    return BigInt(Date.now()) * 1_000_000n;
  }

  getSharedData(key: string): SharedEntry | undefined {
    return this.vm.shared.get(key);
  }

  /** CasMismatch when `cas` is non-zero and not the entry's current one. */
  setSharedData(key: string, value: Uint8Array, cas: number): WasmResult {
    return this.vm.shared.set(key, value, cas) ? WasmResult.Ok : WasmResult.CasMismatch;
  }

  // ---------------------------------------------------------------- shared queues (§20)

  /** proxy_register_shared_queue: proxy_on_queue_ready goes to the root context, whichever context registers. */
  registerSharedQueue(name: string): number {
    return this.vm.queues.register(name, this.root.id);
  }

  /** proxy_resolve_shared_queue: the token; 0 (NotFound) when no VM of that vm_id registered the name. */
  resolveSharedQueue(vmId: string, name: string): number {
    return this.vm.queues.resolve(vmId, name);
  }

  enqueueSharedQueue(token: number, value: Uint8Array): WasmResult {
    return this.vm.queues.enqueue(token, value);
  }

  dequeueSharedQueue(token: number): Uint8Array | WasmResult {
    return this.vm.queues.dequeue(token);
  }
}

/** The VM's own context (id 0) and the plugin's root context: configuration, ticks, shutdown. */
export class RootContext extends ContextBase {
  /** the PluginConfiguration buffer: present only while the VM sets it (§2) */
  pluginConfiguration: Uint8Array | null = null;
  /** the answer to an HTTP call, while proxy_on_http_call_response runs (§19) */
  callResponse: HttpCallResponse | null = null;
  /** what proxy_get_status answers: Envoy's status_code_ and status_message_ (§19) */
  statusCode = 0;
  statusMessage = "";

  override get root(): RootContext {
    return this;
  }

  protected get logPrefix(): string {
    return this.vm.rootLogPrefix;
  }

  override buffer(type: BufferType): Uint8Array | null {
    if (type === BufferType.PluginConfiguration) return this.pluginConfiguration;
    return super.buffer(type);
  }
}

/** The context a host call acts on: every kind answers through the same methods. */
export type Context = ContextBase;

export class ContextIds {
  private next = 1;
  take(): number {
    return this.next++;
  }
}

export function isCallResponseMap(type: HeaderMapType): boolean {
  return type === HeaderMapType.HttpCallResponseHeaders || type === HeaderMapType.HttpCallResponseTrailers;
}

export function isNetworkData(type: BufferType): boolean {
  return type === BufferType.NetworkDownstreamData || type === BufferType.NetworkUpstreamData;
}

export function readPropertyAt(scope: PropertyScope, path: Uint8Array): Uint8Array | WasmResult {
  const text = decodeUtf8(path);
  return text === null ? WasmResult.NotFound : readProperty(scope, text);
}
