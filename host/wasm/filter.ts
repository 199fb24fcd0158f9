// The network filters a plugin gives each connection: the wasm filter that drives the callbacks
// (docs/envoy-host.md §3), and the stand-in for a failed VM that follows the failure policy (§8).

import { PeerType } from "./abi.ts";
import type { ClusterInfo, FilterCallbacks, NetworkFilter, UpstreamHostInfo } from "./contract.ts";
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

export class WasmNetworkFilter implements NetworkFilter, StreamControl {
  private readonly context: ConnectionContext;
  private downstreamEndOfStream = false;
  /** proxy_continue_stream(Downstream) came during proxy_on_downstream_data itself */
  private continueRequested = false;
  private inDownstreamCallback = false;
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
  }

  onNewConnection(): void {
    // Envoy's onCreate then onNetworkNewConnection; a failed VM is called no more (vm.invoke).
    this.vm.contextCreate(this.context);
    // StopIteration here would hold back tcp_proxy's connect; the network side drives that itself.
    this.vm.newConnection(this.context);
    // A failure, earlier or in these calls, closes the connection before tcp_proxy sees it (§8).
    if (this.vm.failed) this.continuesAfterFailure();
  }

  onClusterSelected(cluster: ClusterInfo): void {
    this.facts.cluster = cluster;
  }

  onUpstreamConnected(host: UpstreamHostInfo): void {
    this.facts.upstream = host;
  }

  onDownstreamData(data: Uint8Array, endOfStream: boolean): void {
    const context = this.context;
    // After StopIteration the read buffer still holds the earlier bytes: they are reported again.
    context.downstreamData = context.downstreamData === null ? data : concatBytes(context.downstreamData, data);
    this.downstreamEndOfStream = endOfStream;
    if (!this.vm.failed) {
      this.continueRequested = false;
      this.inDownstreamCallback = true;
      const status = this.vm.downstreamData(context, context.downstreamData.length, endOfStream);
      this.inDownstreamCallback = false;
      if (!this.vm.failed) {
        if (status === 0 || this.continueRequested) this.forwardRetained();
        return;
      }
    }
    // The VM failed, earlier or in this call (§8): the whole read buffer goes on, or none of it.
    if (this.continuesAfterFailure()) this.forwardRetained();
    else context.downstreamData = null;
  }

  onUpstreamData(data: Uint8Array, endOfStream: boolean): void {
    const context = this.context;
    let out = data;
    if (!this.vm.failed) {
      context.upstreamData = data;
      const status = this.vm.upstreamData(context, data.length, endOfStream);
      out = context.upstreamData;
      context.upstreamData = null;
      if (!this.vm.failed) {
        if (status !== 0) this.hooks.onUpstreamStopIteration(this.vm);
        this.callbacks.forwardUpstream(out, endOfStream);
        return;
      }
    }
    // The VM failed, earlier or in this call (§8): the data goes on to the client, or not at all.
    if (this.continuesAfterFailure()) this.callbacks.forwardUpstream(out, endOfStream);
  }

  onUpstreamClose(): void {
    // Envoy reports an upstream close to a network filter without knowing which side ended it.
    this.vm.upstreamConnectionClose(this.context, PeerType.Unknown);
  }

  onDownstreamClose(peer: "local" | "remote"): void {
    if (this.ended) return;
    this.ended = true;
    this.vm.downstreamConnectionClose(this.context, peer === "local" ? PeerType.Local : PeerType.Remote);
    this.vm.finish(this.context);
    this.hooks.onEnd();
  }

  /** proxy_continue_stream(Downstream): pass on what StopIteration held. */
  continueDownstream(): void {
    if (this.inDownstreamCallback) this.continueRequested = true;
    else if (this.context.downstreamData !== null) this.forwardRetained();
  }

  /** proxy_close_stream */
  closeDownstream(): void {
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
      this.callbacks.closeDownstream();
    }
    return false;
  }
}

/** The filter of a connection accepted while its VM is failed: closed at once, or passing traffic (FAIL_OPEN). */
export class FailedVmFilter implements NetworkFilter {
  private ended = false;

  constructor(
    private readonly callbacks: FilterCallbacks,
    private readonly failOpen: boolean,
    private readonly hooks: Pick<FilterHooks, "onEnd">,
  ) {}

  onNewConnection(): void {
    if (!this.failOpen) this.callbacks.closeDownstream();
  }
  onClusterSelected(): void {}
  onUpstreamConnected(): void {}
  onDownstreamData(data: Uint8Array, endOfStream: boolean): void {
    if (this.failOpen) this.callbacks.forwardDownstream(data, endOfStream);
  }
  onUpstreamData(data: Uint8Array, endOfStream: boolean): void {
    if (this.failOpen) this.callbacks.forwardUpstream(data, endOfStream);
  }
  onUpstreamClose(): void {}
  onDownstreamClose(): void {
    if (this.ended) return;
    this.ended = true;
    this.hooks.onEnd();
  }
}
