// The few of Envoy's own stats the local host keeps, named as Envoy names them, so that admin shows
// what Envoy counted next to what the plugin counted (Envoy keeps many more). Each set is defined
// when its listener, filter or cluster is built, so it shows 0 before any traffic, as in Envoy.
// An update is one add on the shared store: cheap enough per connection event and per data chunk.

import { formatAddress } from "../address.ts";
import type { SocketAddress } from "../config/model.ts";
import type { StatsStore } from "../stats.ts";

/** One counter or gauge of the store, defined when created. */
export class Stat {
  constructor(
    private readonly store: StatsStore,
    private readonly name: string,
    kind: "counter" | "gauge",
  ) {
    store.define(name, kind);
  }

  add(delta: number): void {
    this.store.add(this.name, BigInt(delta));
  }
}

/**
 * listener.<address>.*: Envoy names a listener after its configured address (before binding, so a
 * wildcard stays a wildcard), with `:` replaced by `_`, e.g. listener.0.0.0.0_18000.
 */
export class ListenerStats {
  /** connections made, after the listener filters (ActiveTcpConnection) */
  readonly downstreamCxTotal: Stat;
  /** the stats of sockets in the listener filters (ActiveTcpSocket); kept for listeners that have some */
  readonly listenerFilters: ListenerFilterStats | undefined;

  constructor(store: StatsStore, address: SocketAddress, hasListenerFilters: boolean) {
    const root = `listener.${formatAddress(address.address, address.port).replaceAll(":", "_")}.`;
    this.downstreamCxTotal = new Stat(store, root + "downstream_cx_total", "counter");
    this.listenerFilters = hasListenerFilters ? new ListenerFilterStats(store, root) : undefined;
  }
}

/** listener.<address>.* of the sockets the listener filters have not finished with (docs/envoy-host.md §18). */
export class ListenerFilterStats {
  /** listener_filters_timeout fired */
  readonly downstreamPreCxTimeout: Stat;
  /** the client closed before the listener filters had what they wait for */
  readonly remoteClose: Stat;
  /** reading the socket failed (a reset) */
  readonly error: Stat;

  constructor(store: StatsStore, root: string) {
    this.downstreamPreCxTimeout = new Stat(store, root + "downstream_pre_cx_timeout", "counter");
    this.remoteClose = new Stat(store, root + "downstream_listener_filter_remote_close", "counter");
    this.error = new Stat(store, root + "downstream_listener_filter_error", "counter");
  }
}

/** tcp.<stat_prefix>.* of a tcp_proxy filter. */
export class TcpProxyStats {
  readonly downstreamCxTotal: Stat;
  /** tcp_proxy's cluster does not exist */
  readonly downstreamCxNoRoute: Stat;
  /** bytes read from the client */
  readonly downstreamCxRxBytesTotal: Stat;
  /** bytes written to the client */
  readonly downstreamCxTxBytesTotal: Stat;
  /** connections closed by the idle timeout */
  readonly idleTimeout: Stat;

  constructor(store: StatsStore, statPrefix: string) {
    const root = `tcp.${statPrefix}.`;
    this.downstreamCxTotal = new Stat(store, root + "downstream_cx_total", "counter");
    this.downstreamCxNoRoute = new Stat(store, root + "downstream_cx_no_route", "counter");
    this.downstreamCxRxBytesTotal = new Stat(store, root + "downstream_cx_rx_bytes_total", "counter");
    this.downstreamCxTxBytesTotal = new Stat(store, root + "downstream_cx_tx_bytes_total", "counter");
    this.idleTimeout = new Stat(store, root + "idle_timeout", "counter");
  }
}

/** cluster.<name>.*: upstream connections, counted when tcp_proxy starts one. */
export class ClusterStats {
  readonly upstreamCxTotal: Stat;
  /** the connection closed before it was established: refused, reset or timed out */
  readonly upstreamCxConnectFail: Stat;
  readonly upstreamCxActive: Stat;

  constructor(store: StatsStore, clusterName: string) {
    const root = `cluster.${clusterName}.`;
    this.upstreamCxTotal = new Stat(store, root + "upstream_cx_total", "counter");
    this.upstreamCxConnectFail = new Stat(store, root + "upstream_cx_connect_fail", "counter");
    this.upstreamCxActive = new Stat(store, root + "upstream_cx_active", "gauge");
  }
}

/** http.<stat_prefix>.* of an HTTP connection manager. */
export class HttpConnectionManagerStats {
  readonly downstreamCxTotal: Stat;
  /** connections closed after idle_timeout without a request */
  readonly downstreamCxIdleTimeout: Stat;
  /** requests counted from their first byte, as Envoy counts its streams */
  readonly downstreamRqTotal: Stat;
  /** requests ended by stream_idle_timeout */
  readonly downstreamRqIdleTimeout: Stat;
  /** downstream_rq_1xx to downstream_rq_5xx, all of which Envoy defines */
  private readonly downstreamRqByClass: Stat[];

  constructor(store: StatsStore, statPrefix: string) {
    const root = `http.${statPrefix}.`;
    this.downstreamCxTotal = new Stat(store, root + "downstream_cx_total", "counter");
    this.downstreamCxIdleTimeout = new Stat(store, root + "downstream_cx_idle_timeout", "counter");
    this.downstreamRqTotal = new Stat(store, root + "downstream_rq_total", "counter");
    this.downstreamRqIdleTimeout = new Stat(store, root + "downstream_rq_idle_timeout", "counter");
    this.downstreamRqByClass = [1, 2, 3, 4, 5].map((digit) => new Stat(store, `${root}downstream_rq_${digit}xx`, "counter"));
  }

  /** A response went out with this status: count it in its class. */
  responseSent(status: number): void {
    this.downstreamRqByClass[Math.floor(status / 100) - 1].add(1);
  }
}
