// A STATIC cluster as tcp_proxy uses it: its metadata for the filter, round robin over its
// endpoints, its connection stats, and the counters Envoy keeps per host (admin /clusters).

import { formatAddress } from "../../address.ts";
import type { ClusterConfig, JsonObject, Metadata } from "../../config/model.ts";
import type { StatsStore } from "../../stats.ts";
import type { ClusterInfo, UpstreamHostInfo } from "../../wasm/api.ts";
import { clusterStats, type ClusterStats } from "../envoy-stats.ts";
import { canonicalIpText } from "../ip-text.ts";

/** envoy.config.core.v3.Metadata as JSON, the shape the wasm side serves as properties. */
export function metadataJson(metadata: Metadata): JsonObject {
  return { filter_metadata: metadata.filterMetadata };
}

/**
 * Envoy's per-host stats (ALL_HOST_STATS), by name. tcp_proxy's connection pool counts a
 * connection in cx_* when it starts and in rq_* once it is handed over connected; the rq_error,
 * rq_success and rq_timeout counters are HTTP's and stay 0 here.
 */
export interface HostStats {
  cx_active: number;
  cx_connect_fail: number;
  cx_total: number;
  rq_active: number;
  rq_error: number;
  rq_success: number;
  rq_timeout: number;
  rq_total: number;
}

/** One endpoint of a cluster. */
export class UpstreamHost {
  readonly stats: HostStats = {
    cx_active: 0,
    cx_connect_fail: 0,
    cx_total: 0,
    rq_active: 0,
    rq_error: 0,
    rq_success: 0,
    rq_timeout: 0,
    rq_total: 0,
  };

  constructor(readonly info: UpstreamHostInfo) {}

  /** `127.0.0.1:8099`, as Envoy prints a host's address */
  get address(): string {
    return formatAddress(this.info.address.address, this.info.address.port);
  }
}

export class UpstreamCluster {
  readonly info: ClusterInfo;
  readonly connectTimeoutMs: number;
  readonly stats: ClusterStats;
  readonly hosts: readonly UpstreamHost[];
  private nextIndex = 0;

  constructor(config: ClusterConfig, stats: StatsStore) {
    this.info = { name: config.name, metadata: metadataJson(config.metadata) };
    this.connectTimeoutMs = config.connectTimeoutMs;
    this.stats = clusterStats(stats, config.name);
    this.hosts = config.endpoints.map(
      // upstream.address is the host's configured address as Envoy holds it: an IPv6 one in
      // inet_ntop's form, never made IPv4 (docs/envoy-host.md §5)
      (endpoint) =>
        new UpstreamHost({
          address: { address: canonicalIpText(endpoint.address.address), port: endpoint.address.port },
          metadata: metadataJson(endpoint.metadata),
        }),
    );
  }

  /** tcp_proxy starts a connection to `host`. */
  connecting(host: UpstreamHost): void {
    this.stats.upstreamCxTotal.add(1);
    this.stats.upstreamCxActive.add(1);
    host.stats.cx_total++;
    host.stats.cx_active++;
  }

  /** The connection is established: the pool hands it to tcp_proxy, one "request" on the host. */
  connected(host: UpstreamHost): void {
    host.stats.rq_total++;
    host.stats.rq_active++;
  }

  /** The connection closed; before it was established, that is a connect failure as Envoy counts it. */
  closed(host: UpstreamHost, established: boolean): void {
    this.stats.upstreamCxActive.add(-1);
    host.stats.cx_active--;
    if (established) {
      host.stats.rq_active--;
    } else {
      this.stats.upstreamCxConnectFail.add(1);
      host.stats.cx_connect_fail++;
    }
  }

  /** The next endpoint in round-robin order; undefined when the cluster has none. */
  pickEndpoint(): UpstreamHost | undefined {
    if (this.hosts.length === 0) return undefined;
    const host = this.hosts[this.nextIndex];
    this.nextIndex = (this.nextIndex + 1) % this.hosts.length;
    return host;
  }
}
