// One TCP connection's context, which is also its network filter, as Envoy's wasm Context is both
// (source/extensions/common/wasm/context.cc): the filter chain calls it (new connection, data
// each way, the close), it calls the module's callbacks for its context, and answers the host
// calls the module makes for the connection. A data buffer is the chain's own, readable and
// editable by the module while the call that hands it over runs (the read buffer also while the
// filter holds it with StopIteration, as Envoy keeps it). Stream calls (continue, close) are
// applied once the VM call has returned (docs/envoy-host.md §3); a failed VM follows the failure
// policy (§8).

import type { ByteBuffer } from "../buffer.ts";
import { BufferType, PeerType, StreamType, WasmResult } from "./abi.ts";
import { byteString, EMPTY_BYTES } from "./bytes.ts";
import { ContextBase, isNetworkData, readPropertyAt, type VmServices } from "./contexts.ts";
import type { ConnectionFilter, FilterStatus, ReadFilterCallbacks } from "./contract.ts";
import type { ConnectionFacts, PropertyScope } from "./properties.ts";

/** The calls into the module for one connection: the VM makes them (vm.ts). */
export interface ConnectionCalls {
  /** the VM trapped: it is called no more */
  readonly failed: boolean;
  contextCreate(context: ConnectionContext): void;
  newConnection(context: ConnectionContext): number;
  downstreamData(context: ConnectionContext, size: number, endOfStream: boolean): number;
  upstreamData(context: ConnectionContext, size: number, endOfStream: boolean): number;
  downstreamConnectionClose(context: ConnectionContext, peer: PeerType): void;
  upstreamConnectionClose(context: ConnectionContext, peer: PeerType): void;
  /** done, log, delete; the context is forgotten */
  finish(context: ConnectionContext): void;
}

/** What the plugin hears of its connections. */
export interface ConnectionHooks {
  /** the connection has ended (its downstream closed) */
  onEnd(): void;
  /** the module returned StopIteration for upstream data, which the host does not support */
  onUpstreamStopIteration(thread: number): void;
}

export interface ConnectionSetup {
  facts: ConnectionFacts;
  callbacks: ReadFilterCallbacks;
  /**
   * The legacy fail_open: after a failure of its VM, the connection passes traffic as if the
   * filter were not there. Without it the connection is closed, whatever failure_policy says:
   * the policy is for connections accepted after the failure (FailedVmFilter).
   */
  failOpen: boolean;
  hooks: ConnectionHooks;
}

export class ConnectionContext extends ContextBase implements ConnectionFilter {
  private readonly calls: ConnectionCalls;
  private readonly properties: PropertyScope;
  private readonly callbacks: ReadFilterCallbacks;
  private readonly failOpen: boolean;
  private readonly hooks: ConnectionHooks;
  /** the chain's read buffer: during proxy_on_downstream_data, and after it while StopIteration holds it */
  private downstream: ByteBuffer | null = null;
  /** the write on its way to the client: during proxy_on_upstream_data */
  private upstream: ByteBuffer | null = null;
  /** values stored by proxy_set_property, by path */
  private readonly setProperties = new Map<string, Uint8Array>();
  /** the connection is being closed for the filter: the close is asked of the connection once */
  private closeRequested = false;
  /** the failure policy has acted on this connection */
  private streamFailed = false;
  private ended = false;

  constructor(id: number, readonly rootId: number, vm: VmServices, calls: ConnectionCalls, setup: ConnectionSetup) {
    super(id, vm);
    this.calls = calls;
    this.properties = { plugin: vm.rootProperties.plugin, names: vm.rootProperties.names, connection: setup.facts };
    this.callbacks = setup.callbacks;
    this.failOpen = setup.failOpen;
    this.hooks = setup.hooks;
  }

  get contextId(): number {
    return this.id;
  }

  protected get logPrefix(): string {
    return this.vm.connectionLogPrefix;
  }

  // ---------------------------------------------------------------- the filter (§3)

  onNewConnection(): FilterStatus {
    // Envoy's onCreate then onNetworkNewConnection; a failed VM is called no more.
    this.calls.contextCreate(this);
    // A close asked for in the call is applied before the status is seen (§3).
    const status = this.calls.newConnection(this);
    // A failure, earlier or in these calls, closes the connection before tcp_proxy sees it (§8).
    if (this.calls.failed) return this.afterFailure();
    return filterStatus(status);
  }

  onData(data: ByteBuffer, endOfStream: boolean): FilterStatus {
    if (!this.calls.failed) {
      this.downstream = data;
      const status = filterStatus(this.calls.downstreamData(this, data.length, endOfStream));
      if (!this.calls.failed) {
        if (status === "Continue") this.downstream = null;
        return status;
      }
    }
    // The VM failed, earlier or in this call (§8): the whole read buffer goes on, or none of it.
    this.downstream = null;
    return this.afterFailure();
  }

  onWrite(data: ByteBuffer, endOfStream: boolean): FilterStatus {
    if (this.calls.failed) return this.afterFailure();
    this.upstream = data;
    const status = this.calls.upstreamData(this, data.length, endOfStream);
    this.upstream = null;
    if (this.calls.failed) return this.afterFailure();
    // Holding upstream data is not supported: the chain passes it on whatever the answer.
    if (status !== 0) this.hooks.onUpstreamStopIteration(this.vm.thread);
    // Envoy reports the upstream's close with its end of stream, without knowing which side ended it.
    if (endOfStream) this.calls.upstreamConnectionClose(this, PeerType.Unknown);
    return filterStatus(status);
  }

  onDownstreamClose(peer: "local" | "remote"): void {
    if (this.ended) return;
    this.ended = true;
    this.calls.downstreamConnectionClose(this, peer === "local" ? PeerType.Local : PeerType.Remote);
    this.calls.finish(this);
    this.hooks.onEnd();
  }

  /**
   * Envoy's CHECK_FAIL_NET once the VM has failed (§8): with the legacy fail_open the data passes
   * (Continue); otherwise the connection is closed, once and at once (Envoy's failStream), and
   * nothing passes on (StopIteration).
   */
  private afterFailure(): FilterStatus {
    if (this.failOpen) return "Continue";
    if (!this.streamFailed) {
      this.streamFailed = true;
      this.closeOnce();
    }
    return "StopIteration";
  }

  // ---------------------------------------------------------------- streams (§3)

  /**
   * proxy_continue_stream: Downstream resumes the chain after this filter (tcp_proxy's connect
   * after a StopIteration on the new connection, and the bytes the read buffer holds), once the
   * VM call has returned.
   */
  override continueStream(type: StreamType): WasmResult {
    const result = super.continueStream(type);
    if (result === WasmResult.Ok && type === StreamType.Downstream) {
      this.vm.afterCall(() => {
        if (!this.ended && this.callbacks.connection.open) this.callbacks.continueReading();
      });
    }
    return result;
  }

  /** proxy_close_stream: Downstream and Upstream both close the one connection (FlushWrite, once). */
  override closeStream(type: StreamType): WasmResult {
    const result = super.closeStream(type);
    if (result === WasmResult.Ok && (type === StreamType.Downstream || type === StreamType.Upstream)) {
      this.vm.afterCall(() => {
        if (!this.ended) this.closeOnce();
      });
    }
    return result;
  }

  /** Envoy closes a closing connection once: the second proxy_close_stream changes nothing. */
  private closeOnce(): void {
    if (this.closeRequested) return;
    this.closeRequested = true;
    this.callbacks.connection.close();
  }

  // ---------------------------------------------------------------- buffers (§4) and properties (§5)

  override buffer(type: BufferType): Uint8Array | null {
    if (type === BufferType.NetworkDownstreamData) return this.downstream?.bytes ?? EMPTY_BYTES;
    if (type === BufferType.NetworkUpstreamData) return this.upstream?.bytes ?? EMPTY_BYTES;
    return super.buffer(type);
  }

  /**
   * Envoy's edit of a network buffer: start 0 drains `length` bytes then prepends the data; a
   * start at or past the end appends; anything between is refused.
   */
  override setBuffer(type: BufferType, start: number, length: number, data: Uint8Array | null): WasmResult {
    if (!isNetworkData(type)) return super.setBuffer(type, start, length, data);
    const buffer = type === BufferType.NetworkDownstreamData ? this.downstream : this.upstream;
    if (buffer === null) return WasmResult.NotFound;
    if (data === null) return WasmResult.InvalidMemoryAccess;
    if (start !== 0 && start < buffer.length) return WasmResult.BadArgument;
    // a copy: `data` is a view of the module's memory, which the module reuses
    const bytes = data.slice();
    if (start === 0) {
      buffer.drain(length);
      buffer.prepend(bytes);
    } else {
      buffer.add(bytes);
    }
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

/** The ABI's status word: 0 Continue, any other StopIteration. */
function filterStatus(word: number): FilterStatus {
  return word === 0 ? "Continue" : "StopIteration";
}

function withoutTrailingNul(path: string): string {
  return path.endsWith("\0") ? path.slice(0, -1) : path;
}
