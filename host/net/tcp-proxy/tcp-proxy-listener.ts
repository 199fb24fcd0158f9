// A listener whose filter chain ends in tcp_proxy: every accepted connection goes through the
// chain's filters to tcp_proxy's cluster.

import { createServer, type Server, type Socket } from "node:net";
import type { HeaderAddresses } from "../listener/proxy-protocol.ts";
import type { TcpProxyConfig } from "../../config/model.ts";
import type { ConnectionInfo, FilterFactory } from "../../wasm/api.ts";
import type { UpstreamCluster } from "./cluster.ts";
import type { TcpProxyStats } from "../envoy-stats.ts";
import { DownstreamConnection } from "../connection/downstream-connection.ts";
import { socketEndpoints } from "../ip-text.ts";
import { TcpProxyFilter } from "./tcp-proxy-filter.ts";

export interface TcpProxyListenerOptions {
  listenerName: string;
  tcpProxy: TcpProxyConfig;
  /** the filters ahead of tcp_proxy (the wasm filter), in chain order; may be empty */
  factories: FilterFactory[];
  /** the clusters by name, looked up per connection */
  findCluster(name: string): UpstreamCluster | undefined;
  /** tcp.<stat_prefix>.*, defined with the listener */
  stats: TcpProxyStats;
}

export class TcpProxyListener {
  readonly server: Server;
  private readonly connections = new Set<TcpProxyFilter>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: TcpProxyListenerOptions) {
    // paused: tcp_proxy reads nothing from a client until its upstream is connected
    this.server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
  }

  /** Connections with a socket still open. */
  get openConnections(): number {
    return this.connections.size;
  }

  /** Resolves once no connection holds a socket. */
  whenIdle(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Reset every open connection (after the server stopped accepting). */
  abortConnections(): void {
    for (const connection of this.connections) connection.abort();
  }

  /**
   * A client's connection, its socket paused: through the filters to the cluster. `addresses` are
   * what the listener filters made of it; the socket's own when absent.
   */
  accept(socket: Socket, addresses?: HeaderAddresses): void {
    const { listenerName, factories, stats, tcpProxy } = this.options;
    stats.downstreamCxTotal.add(1);
    const info: ConnectionInfo = { ...(addresses ?? socketEndpoints(socket)), listenerName };
    const connection = new DownstreamConnection(socket, factories, info, (connection) => {
      const filter: TcpProxyFilter = new TcpProxyFilter(connection, info, {
        cluster: this.options.findCluster(tcpProxy.cluster),
        stats,
        idleTimeoutMs: tcpProxy.idleTimeoutMs,
        onReleased: () => this.release(filter),
      });
      this.connections.add(filter);
      return filter;
    });
    connection.start();
  }

  private release(connection: TcpProxyFilter): void {
    this.connections.delete(connection);
    if (this.connections.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
