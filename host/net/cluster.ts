// A STATIC cluster as tcp_proxy uses it: its metadata for the filter, round robin over its
// endpoints, and its connection stats.

import type { ClusterConfig, EndpointConfig, JsonObject, Metadata } from "../config/model.ts";
import type { StatsStore } from "../stats.ts";
import type { ClusterInfo, UpstreamHostInfo } from "../wasm/api.ts";
import { ClusterStats } from "./envoy-stats.ts";

/** envoy.config.core.v3.Metadata as JSON, the shape the wasm side serves as properties. */
export function metadataJson(metadata: Metadata): JsonObject {
  return { filter_metadata: metadata.filterMetadata };
}

export class UpstreamCluster {
  readonly info: ClusterInfo;
  readonly connectTimeoutMs: number;
  readonly stats: ClusterStats;
  private readonly endpoints: EndpointConfig[];
  private nextIndex = 0;

  constructor(config: ClusterConfig, stats: StatsStore) {
    this.info = { name: config.name, metadata: metadataJson(config.metadata) };
    this.connectTimeoutMs = config.connectTimeoutMs;
    this.stats = new ClusterStats(stats, config.name);
    this.endpoints = config.endpoints;
  }

  /** The next endpoint in round-robin order; undefined when the cluster has none. */
  pickEndpoint(): UpstreamHostInfo | undefined {
    if (this.endpoints.length === 0) return undefined;
    const endpoint = this.endpoints[this.nextIndex];
    this.nextIndex = (this.nextIndex + 1) % this.endpoints.length;
    return { address: { ...endpoint.address }, metadata: metadataJson(endpoint.metadata) };
  }
}
