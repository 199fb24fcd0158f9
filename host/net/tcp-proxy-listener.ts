// A listener whose filter chain ends in tcp_proxy: every accepted connection goes through the
// chain's filters to tcp_proxy's cluster.

import { createServer, type Server, type Socket } from "node:net";
import type { TcpProxyConfig } from "../config/model.ts";
import type { FilterFactory } from "../wasm/api.ts";
import type { UpstreamCluster } from "./cluster.ts";
import type { TcpProxyStats } from "./envoy-stats.ts";
import { TcpProxyConnection } from "./tcp-proxy-connection.ts";

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
  private readonly connections = new Set<TcpProxyConnection>();
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

  private accept(socket: Socket): void {
    this.options.stats.downstreamCxTotal.add(1);
    const connection = new TcpProxyConnection(socket, {
      listenerName: this.options.listenerName,
      factories: this.options.factories,
      cluster: this.options.findCluster(this.options.tcpProxy.cluster),
      stats: this.options.stats,
      idleTimeoutMs: this.options.tcpProxy.idleTimeoutMs,
      onReleased: (released) => this.release(released),
    });
    this.connections.add(connection);
    connection.start();
  }

  private release(connection: TcpProxyConnection): void {
    this.connections.delete(connection);
    if (this.connections.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
