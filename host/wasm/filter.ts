// The network filters a plugin gives each connection: the wasm filter that drives the callbacks
// (docs/envoy-host.md §3), and the stand-in for a failed VM that follows the failure policy (§8).

import { PeerType } from "./abi.ts";
import type { ClusterInfo, FilterCallbacks, FilterStatus, NetworkFilter, UpstreamHostInfo } from "./contract.ts";
import { concatBytes, EMPTY_BYTES } from "./bytes.ts";
import type { ConnectionContext, StreamControl } from "./contexts.ts";
import type { ConnectionFacts } from "./properties.ts";
import type { WasmVm } from "./vm.ts";

export interface FilterHooks {
  /** the filter has ended (its downstream connection closed) */
  onEnd(): void;
  /** the module returned StopIteration for upstream data, which the host does not support */
  onUpstreamStopIteration(vm: WasmVm): void;
}

/** What proxy_continue_stream(Downstream) and proxy_close_stream ask of the connection. */
type StreamAction = "continue" | "close";

export class WasmNetworkFilter implements NetworkFilter, StreamControl {
  readonly contextId: number;
  private readonly context: ConnectionContext;
  private downstreamEndOfStream = false;
  /** one of this filter's callbacks is running */
  private inCallback = false;
  /**
   * Stream calls made during one of this filter's callbacks, applied once the VM call has
   * returned (Envoy's addAfterVmCallAction, docs/envoy-host.md §3).
   */
  private readonly deferred: StreamAction[] = [];
  /** the filter resumed the chain during its last downstream data callback */
  private resumed = false;
  /** the connection is being closed for the filter: the close is asked of the network side once */
  private closeRequested = false;
  /** the failure policy has acted on this connection */
  private streamFailed = false;
  private ended = false;

  constructor(
    private readonly vm: WasmVm,
    private readonly facts: ConnectionFacts,
    private readonly callbacks: FilterCallbacks,
    /**
     * The legacy fail_open: after a failure of its VM, the connection passes traffic as if the
     * filter were not there. Without it the connection is closed, whatever failure_policy says:
     * the policy is for connections accepted after the failure (FailedVmFilter).
     */
    private readonly failOpen: boolean,
    private readonly hooks: FilterHooks,
  ) {
    this.context = vm.createConnection(facts, this);
    this.contextId = this.context.id;
  }

  onNewConnection(): FilterStatus {
    // Envoy's onCreate then onNetworkNewConnection; a failed VM is called no more (vm.invoke).
    this.enter();
    this.vm.contextCreate(this.context);
    this.leave();
    // StopIteration holds the filters after this one (tcp_proxy's connect) until the filter
    // continues; a close asked for here is applied before the status is seen (§3).
    this.enter();
    const status = this.vm.newConnection(this.context);
    this.leave();
    // A failure, earlier or in these calls, closes the connection before tcp_proxy sees it (§8).
    if (this.vm.failed) return this.continuesAfterFailure() ? "Continue" : "StopIteration";
    return filterStatus(status);
  }

  onClusterSelected(cluster: ClusterInfo): void {
    this.facts.cluster = cluster;
  }

  onUpstreamConnected(host: UpstreamHostInfo): void {
    this.facts.upstream = host;
  }

  onDownstreamData(data: Uint8Array, endOfStream: boolean): FilterStatus {
    const context = this.context;
    // After StopIteration the read buffer still holds the earlier bytes: they are reported again.
    context.downstreamData = context.downstreamData === null ? data : concatBytes(context.downstreamData, data);
    this.downstreamEndOfStream = endOfStream;
    if (!this.vm.failed) {
      this.resumed = false;
      this.enter();
      const status = this.vm.downstreamData(context, context.downstreamData.length, endOfStream);
      this.leave();
      if (!this.vm.failed) {
        // proxy_continue_stream during the call has passed the bytes on already
        if (status === 0 && !this.resumed) this.forwardRetained();
        return filterStatus(status);
      }
    }
    // The VM failed, earlier or in this call (§8): the whole read buffer goes on, or none of it.
    if (this.continuesAfterFailure()) {
      this.forwardRetained();
      return "Continue";
    }
    context.downstreamData = null;
    return "StopIteration";
  }

  onUpstreamData(data: Uint8Array, endOfStream: boolean): FilterStatus {
    const context = this.context;
    let out = data;
    if (!this.vm.failed) {
      context.upstreamData = data;
      this.enter();
      const status = this.vm.upstreamData(context, data.length, endOfStream);
      this.leave();
      out = context.upstreamData;
      context.upstreamData = null;
      if (!this.vm.failed) {
        if (status !== 0) this.hooks.onUpstreamStopIteration(this.vm);
        this.callbacks.forwardUpstream(out, endOfStream);
        return filterStatus(status);
      }
    }
    // The VM failed, earlier or in this call (§8): the data goes on to the client, or not at all.
    if (!this.continuesAfterFailure()) return "StopIteration";
    this.callbacks.forwardUpstream(out, endOfStream);
    return "Continue";
  }

  onUpstreamClose(): void {
    // Envoy reports an upstream close to a network filter without knowing which side ended it.
    this.enter();
    this.vm.upstreamConnectionClose(this.context, PeerType.Unknown);
    this.leave();
  }

  onDownstreamClose(peer: "local" | "remote"): void {
    if (this.ended) return;
    this.ended = true;
    this.vm.downstreamConnectionClose(this.context, peer === "local" ? PeerType.Local : PeerType.Remote);
    this.vm.finish(this.context);
    this.hooks.onEnd();
  }

  /** proxy_continue_stream(Downstream) */
  continueDownstream(): void {
    this.request("continue");
  }

  /** proxy_close_stream(Downstream or Upstream): both close the one downstream connection */
  closeDownstream(): void {
    this.request("close");
  }

  /**
   * A stream call waits for the VM call it came in to return: this filter's own callback, or
   * another context's (proxy_set_effective_context), whose end is awaited as a microtask.
   */
  private request(action: StreamAction): void {
    if (this.inCallback) this.deferred.push(action);
    else queueMicrotask(() => this.apply(action));
  }

  /** A call into the VM for this connection begins. */
  private enter(): void {
    this.inCallback = true;
  }

  /** The call has returned: the stream calls it made, in order. */
  private leave(): void {
    this.inCallback = false;
    if (this.deferred.length === 0) return;
    for (const action of this.deferred.splice(0)) this.apply(action);
  }

  private apply(action: StreamAction): void {
    if (this.ended) return;
    if (action === "close") this.closeOnce();
    else this.resume();
  }

  /**
   * Envoy's continueReading: the chain goes on after this filter (tcp_proxy connects if it has
   * not yet), and what StopIteration held goes on with it.
   */
  private resume(): void {
    this.resumed = true;
    this.callbacks.continueReading();
    if (this.context.downstreamData !== null) this.forwardRetained();
  }

  /** Envoy closes a closing connection once: the second proxy_close_stream changes nothing. */
  private closeOnce(): void {
    if (this.closeRequested) return;
    this.closeRequested = true;
    this.callbacks.closeDownstream();
  }

  private forwardRetained(): void {
    const data = this.context.downstreamData ?? EMPTY_BYTES;
    this.context.downstreamData = null;
    this.callbacks.forwardDownstream(data, this.downstreamEndOfStream);
  }

  /**
   * Envoy's CHECK_FAIL_NET once the VM has failed (§8): with the legacy fail_open the data passes
   * (Continue, true); otherwise the connection is closed, once and at once (Envoy's failStream),
   * and the data is not forwarded (StopIteration, false).
   */
  private continuesAfterFailure(): boolean {
    if (this.failOpen) return true;
    if (!this.streamFailed) {
      this.streamFailed = true;
      this.closeOnce();
    }
    return false;
  }
}

/** The ABI's status word: 0 Continue, any other StopIteration. */
function filterStatus(word: number): FilterStatus {
  return word === 0 ? "Continue" : "StopIteration";
}

/** The filter of a connection accepted while its VM is failed: closed at once, or passing traffic (FAIL_OPEN). */
export class FailedVmFilter implements NetworkFilter {
  private ended = false;

  constructor(
    private readonly callbacks: FilterCallbacks,
    private readonly failOpen: boolean,
    private readonly hooks: Pick<FilterHooks, "onEnd">,
  ) {}

  onNewConnection(): FilterStatus {
    if (this.failOpen) return "Continue";
    this.callbacks.closeDownstream();
    return "StopIteration";
  }
  onClusterSelected(): void {}
  onUpstreamConnected(): void {}
  onDownstreamData(data: Uint8Array, endOfStream: boolean): FilterStatus {
    if (!this.failOpen) return "StopIteration";
    this.callbacks.forwardDownstream(data, endOfStream);
    return "Continue";
  }
  onUpstreamData(data: Uint8Array, endOfStream: boolean): FilterStatus {
    if (!this.failOpen) return "StopIteration";
    this.callbacks.forwardUpstream(data, endOfStream);
    return "Continue";
  }
  onUpstreamClose(): void {}
  onDownstreamClose(): void {
    if (this.ended) return;
    this.ended = true;
    this.hooks.onEnd();
  }
}
