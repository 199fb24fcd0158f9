// The read/write filters of one connection, in Envoy's order: downstream data goes through the
// filters first to last and then to the terminal filter (tcp_proxy); upstream data goes through
// them last to first and then to the client. Lifecycle events reach every filter in order.
// Once a filter has asked to close the connection, nothing more passes along the chain: Envoy's
// filter manager stops at the first filter after which the connection is no longer open
// (docs/envoy-host.md §3).

import type {
  ClusterInfo,
  ConnectionInfo,
  FilterCallbacks,
  FilterFactory,
  NetworkFilter,
  UpstreamHostInfo,
} from "../wasm/api.ts";

/** Where data leaves the chain, and how a filter closes the connection. */
export interface ChainEnds {
  toUpstream(data: Uint8Array, endOfStream: boolean): void;
  toClient(data: Uint8Array, endOfStream: boolean): void;
  closeDownstream(): void;
}

export class FilterChain {
  private readonly filters: NetworkFilter[] = [];
  /** a filter asked to close the downstream connection */
  private closing = false;

  constructor(factories: FilterFactory[], info: ConnectionInfo, private readonly ends: ChainEnds) {
    factories.forEach((factory, index) => {
      this.filters.push(factory.createFilter(info, this.callbacksOf(index)));
    });
  }

  /**
   * Each filter's new connection, in order, until one closes the connection. True when every
   * filter let it through: only then does the terminal filter (tcp_proxy) see it and connect.
   */
  onNewConnection(): boolean {
    for (const filter of this.filters) {
      filter.onNewConnection();
      if (this.closing) return false;
    }
    return true;
  }

  onClusterSelected(cluster: ClusterInfo): void {
    for (const filter of this.filters) filter.onClusterSelected(cluster);
  }

  onUpstreamConnected(host: UpstreamHostInfo): void {
    for (const filter of this.filters) filter.onUpstreamConnected(host);
  }

  /** Bytes read from the client (0 bytes with endOfStream for its FIN). */
  downstreamData(data: Uint8Array, endOfStream: boolean): void {
    this.passDownstream(0, data, endOfStream);
  }

  /** Bytes read from the upstream (0 bytes with endOfStream for its FIN). */
  upstreamData(data: Uint8Array, endOfStream: boolean): void {
    this.passUpstream(this.filters.length - 1, data, endOfStream);
  }

  onUpstreamClose(): void {
    for (const filter of this.filters) filter.onUpstreamClose();
  }

  onDownstreamClose(peer: "local" | "remote"): void {
    for (const filter of this.filters) filter.onDownstreamClose(peer);
  }

  private callbacksOf(index: number): FilterCallbacks {
    return {
      forwardDownstream: (data, endOfStream) => this.passDownstream(index + 1, data, endOfStream),
      forwardUpstream: (data, endOfStream) => this.passUpstream(index - 1, data, endOfStream),
      closeDownstream: () => {
        this.closing = true;
        this.ends.closeDownstream();
      },
    };
  }

  private passDownstream(index: number, data: Uint8Array, endOfStream: boolean): void {
    if (this.closing) return;
    if (index < this.filters.length) this.filters[index].onDownstreamData(data, endOfStream);
    else this.ends.toUpstream(data, endOfStream);
  }

  private passUpstream(index: number, data: Uint8Array, endOfStream: boolean): void {
    if (this.closing) return;
    if (index >= 0) this.filters[index].onUpstreamData(data, endOfStream);
    else this.ends.toClient(data, endOfStream);
  }
}
