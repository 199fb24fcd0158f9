// The contexts of one VM (docs/envoy-host.md §2–3) and what the ABI means in each: the VM's own
// (id 0, current outside callbacks), a root context, then one context per connection. Ids count
// from 1 per VM and are never reused. Host calls (host-calls/) only move words between module
// memory and these methods; what a call does, and answers, is decided here.

import type { Logger } from "../log.ts";
import { LOG_LEVELS, type LineLevel } from "../loggers.ts";
import { BufferType, MetricType, StreamType, WasmResult } from "./abi.ts";
import { byteString, concatBytes, decodeUtf8, EMPTY_BYTES, joinBytes } from "./bytes.ts";
import type { Metric, VmMetrics } from "./metrics.ts";
import { readProperty, type ConnectionFacts, type PropertyScope } from "./properties.ts";
import type { SharedData, SharedEntry } from "./shared-data.ts";

/**
 * Where Envoy's wasm Context logs a module's line (proxy_log, fd_write): `Context::log` has one
 * ENVOY_LOG per level, each on its own line of context.cc (Envoy 1.39.0; docs/envoy-host.md §7).
 */
const CONTEXT_CC = "source/extensions/common/wasm/context.cc";
const CONTEXT_LOG_LINES: Record<LineLevel, number> = { trace: 1145, debug: 1148, info: 1151, warn: 1154, error: 1157, critical: 1160 };
/** `Context::error`, which cpp-host's proc_exit calls: ENVOY_LOG(trace, message) (Envoy 1.39.0). */
const CONTEXT_ERROR_LINE = 196;
const OFF = LOG_LEVELS.indexOf("off");

/** What a context needs of its VM: the VM implements it. */
export interface VmServices {
  readonly thread: number;
  readonly logger: Logger;
  readonly metrics: VmMetrics;
  readonly shared: SharedData;
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
}

/**
 * What a connection context may ask of its connection (proxy_continue_stream / proxy_close_stream);
 * the connection acts once the VM call has returned (docs/envoy-host.md §3).
 */
export interface StreamControl {
  continueDownstream(): void;
  closeDownstream(): void;
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
    this.vm.logger.log("wasm", level, `${CONTEXT_CC}:${CONTEXT_LOG_LINES[level]}`, line, this.vm.thread);
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
   * proxy_continue_stream: Downstream resumes the chain after the filter (tcp_proxy's connect
   * after a StopIteration on the new connection) and passes on what StopIteration held; there is
   * nothing to resume on the HTTP streams of a TCP connection; Upstream is not implemented.
   */
  continueStream(type: StreamType): WasmResult {
    if (StreamType[type] === undefined) return WasmResult.BadArgument;
    if (type === StreamType.Upstream) return WasmResult.Unimplemented;
    if (type === StreamType.Downstream) this.stream?.continueDownstream();
    return WasmResult.Ok;
  }

  /**
   * proxy_close_stream: Downstream and Upstream both close the one connection a network filter
   * has (FlushWrite, once).
   */
  closeStream(type: StreamType): WasmResult {
    if (StreamType[type] === undefined) return WasmResult.BadArgument;
    if (type === StreamType.Downstream || type === StreamType.Upstream) this.stream?.closeDownstream();
    return WasmResult.Ok;
  }

  /** the connection a stream call acts on; none for a root context */
  protected get stream(): StreamControl | null {
    return null;
  }

  /** proxy_done: NotFound unless it finishes a pending shutdown of this root context. */
  done(): WasmResult {
    return this.vm.done(this) ? WasmResult.Ok : WasmResult.NotFound;
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
}

/** The VM's own context (id 0) and the plugin's root context: configuration, ticks, shutdown. */
export class RootContext extends ContextBase {
  readonly kind = "root";
  /** the PluginConfiguration buffer: present only while the VM sets it (§2) */
  pluginConfiguration: Uint8Array | null = null;

  protected get logPrefix(): string {
    return this.vm.rootLogPrefix;
  }

  override buffer(type: BufferType): Uint8Array | null {
    if (type === BufferType.PluginConfiguration) return this.pluginConfiguration;
    return super.buffer(type);
  }
}

/** One TCP connection: its data buffers, its properties, its stream. */
export class ConnectionContext extends ContextBase {
  readonly kind = "connection";
  /** the downstream read buffer the filter holds: set during proxy_on_downstream_data and while retained */
  downstreamData: Uint8Array | null = null;
  /** the upstream write buffer: set during proxy_on_upstream_data */
  upstreamData: Uint8Array | null = null;
  /** values stored by proxy_set_property, by path */
  private readonly setProperties = new Map<string, Uint8Array>();

  constructor(
    id: number,
    readonly rootId: number,
    vm: VmServices,
    /** what proxy_get_property answers from; its facts fill in as tcp_proxy learns them */
    private readonly properties: PropertyScope & { connection: ConnectionFacts },
    private readonly control: StreamControl,
  ) {
    super(id, vm);
  }

  protected get logPrefix(): string {
    return this.vm.connectionLogPrefix;
  }

  protected override get stream(): StreamControl {
    return this.control;
  }

  override buffer(type: BufferType): Uint8Array | null {
    if (type === BufferType.NetworkDownstreamData) return this.downstreamData ?? EMPTY_BYTES;
    if (type === BufferType.NetworkUpstreamData) return this.upstreamData ?? EMPTY_BYTES;
    return super.buffer(type);
  }

  override setBuffer(type: BufferType, start: number, length: number, data: Uint8Array | null): WasmResult {
    if (!isNetworkData(type)) return super.setBuffer(type, start, length, data);
    const downstream = type === BufferType.NetworkDownstreamData;
    const current = downstream ? this.downstreamData : this.upstreamData;
    if (current === null) return WasmResult.NotFound;
    if (data === null) return WasmResult.InvalidMemoryAccess;
    const edited = editBuffer(current, start, length, data);
    if (edited === null) return WasmResult.BadArgument;
    if (downstream) this.downstreamData = edited;
    else this.upstreamData = edited;
    return WasmResult.Ok;
  }

  override getProperty(path: Uint8Array): Uint8Array | WasmResult {
    // Most connections store no property: then the lookup, which hashes the path, is skipped.
    const stored = this.setProperties.size > 0 ? this.setProperties.get(withoutTrailingNul(byteString(path))) : undefined;
    return stored ?? readPropertyAt(this.properties, path);
  }

  /** Stored by the path's bytes, whatever they are. */
  override setProperty(path: Uint8Array, value: Uint8Array): WasmResult {
    this.setProperties.set(withoutTrailingNul(byteString(path)), value);
    return WasmResult.Ok;
  }
}

export type Context = RootContext | ConnectionContext;

export class ContextIds {
  private next = 1;
  take(): number {
    return this.next++;
  }
}

function isNetworkData(type: BufferType): boolean {
  return type === BufferType.NetworkDownstreamData || type === BufferType.NetworkUpstreamData;
}

/**
 * Envoy's edit of a network buffer: start 0 drains `length` bytes then prepends the data; a
 * start at or past the end appends; anything between is refused (null).
 */
function editBuffer(current: Uint8Array, start: number, length: number, data: Uint8Array): Uint8Array | null {
  if (start === 0) return concatBytes(data, current.subarray(Math.min(length, current.length)));
  if (start >= current.length) return concatBytes(current, data);
  return null;
}

function readPropertyAt(scope: PropertyScope, path: Uint8Array): Uint8Array | WasmResult {
  const text = decodeUtf8(path);
  return text === null ? WasmResult.NotFound : readProperty(scope, text);
}

function withoutTrailingNul(path: string): string {
  return path.endsWith("\0") ? path.slice(0, -1) : path;
}
