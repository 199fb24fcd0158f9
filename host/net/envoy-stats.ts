// The few of Envoy's own stats the local host keeps, named as Envoy names them, so that admin shows
// what Envoy counted next to what the plugin counted (Envoy keeps many more). Each set is a table
// of names under one root, defined when its listener, filter or cluster is built, so it shows 0
// before any traffic, as in Envoy. An update is one add on the shared store: cheap enough per
// connection event and per data chunk.

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

/** A stat's name under its set's root, and its kind. */
type StatSpec = readonly [name: string, kind: "counter" | "gauge"];
type StatTable = Readonly<Record<string, StatSpec>>;
/** A table's stats, each by its key. */
export type StatSet<T extends StatTable> = { readonly [K in keyof T]: Stat };

/** Every stat of `table`, defined under `root`. */
function defineStats<T extends StatTable>(store: StatsStore, root: string, table: T): StatSet<T> {
  return Object.fromEntries(Object.entries(table).map(([key, [name, kind]]) => [key, new Stat(store, root + name, kind)])) as StatSet<T>;
}

/** listener.<address>.* */
const LISTENER = {
  /** connections made, after the listener filters (ActiveTcpConnection) */
  downstreamCxTotal: ["downstream_cx_total", "counter"],
} as const;

/** listener.<address>.* of the sockets the listener filters have not finished with (docs/envoy-host.md §18) */
const LISTENER_FILTERS = {
  /** listener_filters_timeout fired */
  downstreamPreCxTimeout: ["downstream_pre_cx_timeout", "counter"],
  /** the client closed before the listener filters had what they wait for */
  remoteClose: ["downstream_listener_filter_remote_close", "counter"],
  /** reading the socket failed (a reset) */
  error: ["downstream_listener_filter_error", "counter"],
} as const;

/** tcp.<stat_prefix>.* of a tcp_proxy filter */
const TCP_PROXY = {
  downstreamCxTotal: ["downstream_cx_total", "counter"],
  /** tcp_proxy's cluster does not exist */
  downstreamCxNoRoute: ["downstream_cx_no_route", "counter"],
  /** bytes read from the client */
  downstreamCxRxBytesTotal: ["downstream_cx_rx_bytes_total", "counter"],
  /** bytes written to the client */
  downstreamCxTxBytesTotal: ["downstream_cx_tx_bytes_total", "counter"],
  /** connections closed by the idle timeout */
  idleTimeout: ["idle_timeout", "counter"],
} as const;

/** cluster.<name>.*: upstream connections, counted when tcp_proxy starts one */
const CLUSTER = {
  upstreamCxTotal: ["upstream_cx_total", "counter"],
  /** the connection closed before it was established: refused, reset or timed out */
  upstreamCxConnectFail: ["upstream_cx_connect_fail", "counter"],
  upstreamCxActive: ["upstream_cx_active", "gauge"],
} as const;

/** http.<stat_prefix>.* of an HTTP connection manager */
const HTTP_CONNECTION_MANAGER = {
  downstreamCxTotal: ["downstream_cx_total", "counter"],
  /** connections closed after idle_timeout without a request */
  downstreamCxIdleTimeout: ["downstream_cx_idle_timeout", "counter"],
  /** requests counted from their first byte, as Envoy counts its streams */
  downstreamRqTotal: ["downstream_rq_total", "counter"],
  /** requests ended by stream_idle_timeout */
  downstreamRqIdleTimeout: ["downstream_rq_idle_timeout", "counter"],
  // downstream_rq_1xx to downstream_rq_5xx, all of which Envoy defines
  downstreamRq1xx: ["downstream_rq_1xx", "counter"],
  downstreamRq2xx: ["downstream_rq_2xx", "counter"],
  downstreamRq3xx: ["downstream_rq_3xx", "counter"],
  downstreamRq4xx: ["downstream_rq_4xx", "counter"],
  downstreamRq5xx: ["downstream_rq_5xx", "counter"],
} as const;

export type ListenerFilterStats = StatSet<typeof LISTENER_FILTERS>;
export type ListenerStats = StatSet<typeof LISTENER> & {
  /** the stats of sockets in the listener filters (ActiveTcpSocket); kept for listeners that have some */
  readonly listenerFilters: ListenerFilterStats | undefined;
};
export type TcpProxyStats = StatSet<typeof TCP_PROXY>;
export type ClusterStats = StatSet<typeof CLUSTER>;
export type HttpConnectionManagerStats = StatSet<typeof HTTP_CONNECTION_MANAGER>;

/**
 * listener.<address>.*: Envoy names a listener after its configured address (before binding, so a
 * wildcard stays a wildcard), with `:` replaced by `_`, e.g. listener.0.0.0.0_18000.
 */
export function listenerStats(store: StatsStore, address: SocketAddress, hasListenerFilters: boolean): ListenerStats {
  const root = `listener.${formatAddress(address.address, address.port).replaceAll(":", "_")}.`;
  const listenerFilters = hasListenerFilters ? defineStats(store, root, LISTENER_FILTERS) : undefined;
  return { ...defineStats(store, root, LISTENER), listenerFilters };
}

export function tcpProxyStats(store: StatsStore, statPrefix: string): TcpProxyStats {
  return defineStats(store, `tcp.${statPrefix}.`, TCP_PROXY);
}

export function clusterStats(store: StatsStore, clusterName: string): ClusterStats {
  return defineStats(store, `cluster.${clusterName}.`, CLUSTER);
}

export function httpConnectionManagerStats(store: StatsStore, statPrefix: string): HttpConnectionManagerStats {
  return defineStats(store, `http.${statPrefix}.`, HTTP_CONNECTION_MANAGER);
}

/** A response went out with this status: counted in its class (downstream_rq_<n>xx). */
export function countResponse(stats: HttpConnectionManagerStats, status: number): void {
  const byClass = [stats.downstreamRq1xx, stats.downstreamRq2xx, stats.downstreamRq3xx, stats.downstreamRq4xx, stats.downstreamRq5xx];
  byClass[Math.floor(status / 100) - 1].add(1);
}
