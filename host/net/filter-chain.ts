// The read/write filters of one connection and its terminal filter (tcp_proxy), driven as Envoy's
// filter manager drives them (FilterManagerImpl::onContinueReading, docs/envoy-host.md §3). Each
// filter gets its new connection in order; one that answers StopIteration holds the filters after
// it, the terminal's included (tcp_proxy does not connect), until it continues: by forwarding
// data or by continueReading. Downstream data goes through the filters first to last and then to
// the terminal; upstream data goes through them last to first and then to the client. Once a
// filter has asked to close the connection, nothing more passes along the chain: Envoy's filter
// manager stops at the first filter after which the connection is no longer open.

import type {
  ClusterInfo,
  ConnectionInfo,
  FilterCallbacks,
  FilterFactory,
  FilterStatus,
  NetworkFilter,
  UpstreamHostInfo,
} from "../wasm/api.ts";

/** The terminal filter's side of the chain, and how a filter closes the connection. */
export interface ChainEnds {
  /** the terminal filter's new connection: tcp_proxy picks its cluster and connects */
  startTerminal(): void;
  toUpstream(data: Uint8Array, endOfStream: boolean): void;
  toClient(data: Uint8Array, endOfStream: boolean): void;
  /** close the downstream connection, flushing what was written to the client (FlushWrite) */
  closeDownstream(): void;
}

/** Bytes that reached a filter whose new connection is held: Envoy's read buffer keeps them for it. */
interface HeldData {
  index: number;
  data: Uint8Array;
  endOfStream: boolean;
}

export class FilterChain {
  private readonly filters: NetworkFilter[] = [];
  /** how many of the chain's stages (the filters, then the terminal) have had their new connection */
  private started = 0;
  /** a filter asked to close the downstream connection */
  private closing = false;
  private held: HeldData | null = null;

  constructor(factories: FilterFactory[], info: ConnectionInfo, private readonly ends: ChainEnds) {
    factories.forEach((factory, index) => {
      this.filters.push(factory.createFilter(info, this.callbacksOf(index)));
    });
  }

  /** Envoy's initializeReadFilters: each filter's new connection in order, then the terminal's. */
  start(): void {
    this.startFrom(0);
  }

  /** The terminal has had its new connection: tcp_proxy is connecting or connected. */
  get terminalStarted(): boolean {
    return this.started > this.filters.length;
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
      continueReading: () => this.continueAfter(index),
      closeDownstream: () => {
        this.closing = true;
        this.ends.closeDownstream();
      },
    };
  }

  /**
   * The new connection of each stage from `index` on that has not had it, until one answers
   * StopIteration or the connection closes. True when every stage from `index` on has had it.
   */
  private startFrom(index: number): boolean {
    for (let stage = Math.max(index, this.started); stage <= this.filters.length; stage++) {
      if (this.closing || stage > this.started) return false;
      if (this.startStage(stage) !== "Continue" || this.closing) return false;
    }
    return true;
  }

  private startStage(stage: number): FilterStatus {
    this.started = stage + 1;
    if (stage < this.filters.length) return this.filters[stage].onNewConnection();
    this.ends.startTerminal();
    return "Continue";
  }

  /** A filter continued (proxy_continue_stream): the stages after it start, with the bytes held for them. */
  private continueAfter(index: number): void {
    if (this.closing) return;
    const held = this.held;
    if (held !== null && held.index === index) {
      this.held = null;
      this.passDownstream(index + 1, held.data, held.endOfStream);
    } else if (this.started === index + 1) {
      this.startFrom(index + 1);
    }
  }

  private passDownstream(index: number, data: Uint8Array, endOfStream: boolean): void {
    if (this.closing) return;
    // Data from a filter that continued: the next stage's new connection comes first (Envoy's loop).
    if (index === this.started && this.startStage(index) !== "Continue") {
      if (!this.closing) this.hold(index, data, endOfStream);
      return;
    }
    if (this.closing) return;
    if (this.held !== null && this.held.index === index) {
      data = concat(this.held.data, data);
      this.held = null;
    }
    if (index < this.filters.length) this.filters[index].onDownstreamData(data, endOfStream);
    else this.ends.toUpstream(data, endOfStream);
  }

  private hold(index: number, data: Uint8Array, endOfStream: boolean): void {
    const earlier = this.held !== null && this.held.index === index ? this.held.data : new Uint8Array(0);
    this.held = { index, data: concat(earlier, data), endOfStream };
  }

  private passUpstream(index: number, data: Uint8Array, endOfStream: boolean): void {
    if (this.closing) return;
    if (index >= 0) this.filters[index].onUpstreamData(data, endOfStream);
    else this.ends.toClient(data, endOfStream);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
