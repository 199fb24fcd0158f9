// Admin /clusters in Envoy's text format (TextClustersChunkProcessor::render,
// source/server/admin/clusters_chunk_processor.cc; docs/envoy-host.md §14): per cluster its
// observability name, the circuit breakers of both priorities (Envoy's defaults: the local host
// sets none), added_via_api, then per host its stats sorted by name and its description.

import type { UpstreamCluster } from "../net/tcp-proxy/cluster.ts";

/** Envoy's circuit-breaker defaults (cluster.proto CircuitBreakers.Thresholds). */
const CIRCUIT_BREAKERS = [
  ["max_connections", 1024],
  ["max_pending_requests", 1024],
  ["max_requests", 1024],
  ["max_retries", 3],
] as const;

const PRIORITIES = ["default", "high"] as const;

/** What Envoy prints for an outlier detector's success rate when it has none. */
const NO_SUCCESS_RATE = -1;

export function renderClusters(clusters: readonly UpstreamCluster[]): string {
  const lines: string[] = [];
  for (const cluster of clusters) {
    const name = cluster.info.name;
    // a static cluster without alt_stat_name is observed under its own name
    lines.push(`${name}::observability_name::${name}`);
    for (const priority of PRIORITIES) {
      for (const [threshold, value] of CIRCUIT_BREAKERS) lines.push(`${name}::${priority}_priority::${threshold}::${value}`);
    }
    lines.push(`${name}::added_via_api::false`);
    for (const host of cluster.hosts) {
      const prefix = `${name}::${host.address}::`;
      for (const [stat, value] of Object.entries(host.stats).sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(`${prefix}${stat}::${value}`);
      lines.push(
        `${prefix}hostname::`,
        `${prefix}health_flags::healthy`,
        `${prefix}weight::1`,
        `${prefix}region::`,
        `${prefix}zone::`,
        `${prefix}sub_zone::`,
        `${prefix}canary::false`,
        `${prefix}priority::0`,
        `${prefix}success_rate::${NO_SUCCESS_RATE}`,
        `${prefix}local_origin_success_rate::${NO_SUCCESS_RATE}`,
      );
    }
  }
  return lines.map((line) => line + "\n").join("");
}
