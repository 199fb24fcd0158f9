// Tests and benchmarks move listeners to other ports (0: any free one). A cluster endpoint that
// pointed at a moved listener must follow it, or tcp_proxy would forward to the old port.

import type { ClusterConfig, EndpointConfig, SocketAddress } from "../../config/model.ts";
import { listenerAccepts } from "./bind-address.ts";

/** Where a listener was configured and the port it is bound to now. */
export interface BoundListener {
  configured: SocketAddress;
  port: number;
}

/** The clusters with every endpoint that targets a bound listener's configured address moved to its bound port. */
export function followListeners(clusters: ClusterConfig[], bound: BoundListener[]): ClusterConfig[] {
  return clusters.map((cluster) => ({
    ...cluster,
    endpoints: cluster.endpoints.map((endpoint) => followEndpoint(endpoint, bound)),
  }));
}

function followEndpoint(endpoint: EndpointConfig, bound: BoundListener[]): EndpointConfig {
  const { address, port } = endpoint.address;
  const target = bound.find(
    (listener) => listener.configured.port === port && listenerAccepts(listener.configured.address, address),
  );
  if (target === undefined || target.port === port) return endpoint;
  return { ...endpoint, address: { address, port: target.port } };
}
