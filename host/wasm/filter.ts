// The network filters a plugin gives each connection: the wasm filter that drives the callbacks
// (docs/envoy-host.md §3), and the stand-in for a failed VM that follows the failure policy (§8).

import { PeerType } from "../abi.ts";
import type { ClusterInfo, FilterCallbacks, NetworkFilter, UpstreamHostInfo } from "./api.ts";
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
    if (this.vmFailed()) return;
    this.vm.contextCreate(this.context);
    // StopIteration here would hold back tcp_proxy's connect; the network side drives that itself.
    this.vm.newConnection(this.context);
  }

  onClusterSelected(cluster: ClusterInfo): void {
    this.facts.cluster = cluster;
  }

  onUpstreamConnected(host: UpstreamHostInfo): void {
    this.facts.upstream = host;
  }

  onDownstreamData(data: Uint8Array, endOfStream: boolean): void {
    if (this.vmFailed()) {
      if (this.failOpen) this.callbacks.forwardDownstream(data, endOfStream);
      return;
    }
    const context = this.context;
    // After StopIteration the read buffer still holds the earlier bytes: they are reported again.
    context.downstreamData = context.downstreamData === null ? data : concatBytes(context.downstreamData, data);
    this.downstreamEndOfStream = endOfStream;
    this.continueRequested = false;
    this.inDownstreamCallback = true;
    const status = this.vm.downstreamData(context, context.downstreamData.length, endOfStream);
    this.inDownstreamCallback = false;
    if (status === 0 || this.continueRequested) this.forwardRetained();
  }

  onUpstreamData(data: Uint8Array, endOfStream: boolean): void {
    if (this.vmFailed()) {
      if (this.failOpen) this.callbacks.forwardUpstream(data, endOfStream);
      return;
    }
    const context = this.context;
    context.upstreamData = data;
    const status = this.vm.upstreamData(context, data.length, endOfStream);
    const edited = context.upstreamData;
    context.upstreamData = null;
    if (status !== 0) this.hooks.onUpstreamStopIteration(this.vm);
    this.callbacks.forwardUpstream(edited, endOfStream);
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

  /** A failed VM gets no more calls; unless the legacy fail_open is set, its connection is closed once. */
  private vmFailed(): boolean {
    if (!this.vm.failed) return false;
    if (!this.failOpen && !this.streamFailed) {
      this.streamFailed = true;
      this.callbacks.closeDownstream();
    }
    return true;
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
