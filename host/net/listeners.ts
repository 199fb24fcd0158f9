// The static listeners of a config, bound and serving: tcp_proxy chains and direct-response
// HTTP managers, with the clusters tcp_proxy forwards to, each with its Envoy stats.

import { createServer, type Server, type Socket } from "node:net";
import type { EnvoyConfig, ListenerConfig } from "../config/model.ts";
import type { StatsStore } from "../stats.ts";
import type { FilterFactory } from "../wasm/api.ts";
import { bindAddressFor } from "./listener/bind-address.ts";
import { UpstreamCluster } from "./tcp-proxy/cluster.ts";
import { createDirectResponseListener } from "./http/direct-response-listener.ts";
import { httpConnectionManagerStats, listenerStats as defineListenerStats, tcpProxyStats } from "./envoy-stats.ts";
import { followListeners, type BoundListener } from "./listener/follow-listeners.ts";
import { ListenerFilterStage } from "./listener/listener-filters.ts";
import { closeServer, listen } from "./listener/listen.ts";
import type { HeaderAddresses } from "./listener/proxy-protocol.ts";
import { TcpProxyListener } from "./tcp-proxy/tcp-proxy-listener.ts";

export interface ListenersOptions {
  config: EnvoyConfig;
  /** the filters ahead of a listener's terminal filter (its wasm plugins), in chain order */
  filtersOf(listener: ListenerConfig): FilterFactory[];
  /** replaces the wildcard addresses (0.0.0.0, ::) of the config */
  bindAddress: string;
  /** listener name → port to bind instead of the configured one (0: any free port) */
  portOverrides?: Record<string, number>;
  /** where the listeners, filters and clusters keep their Envoy stats */
  stats: StatsStore;
}

export interface BoundListenerInfo {
  name: string;
  address: string;
  port: number;
}

export interface RunningListeners {
  /** in config order */
  readonly bound: BoundListenerInfo[];
  /** the clusters tcp_proxy forwards to, in config order */
  readonly clusters: UpstreamCluster[];
  /** tcp_proxy connections with a socket still open */
  readonly openConnections: number;
  /** resolves once no tcp_proxy connection holds a socket */
  whenIdle(): Promise<void>;
  /** stop accepting, reset open connections, resolve when every server has closed */
  close(): Promise<void>;
}

interface Serving {
  config: ListenerConfig;
  /** what listens */
  server: Server;
  /** hand the chain a socket the listener filters let through (paused), with the addresses they set */
  accept(socket: Socket, addresses: HeaderAddresses): void;
  /** reset the connections still open once the server stopped accepting */
  endConnections(): void;
  /** set for tcp_proxy listeners */
  tcpProxy?: TcpProxyListener;
}

export async function startListeners(options: ListenersOptions): Promise<RunningListeners> {
  let clusters = new Map<string, UpstreamCluster>();
  const serving = options.config.listeners.map((config) => serve(config, options, (name) => clusters.get(name)));
  const bound: BoundListenerInfo[] = [];
  try {
    for (const { config, server } of serving) {
      const address = bindAddressFor(config.address.address, options.bindAddress);
      const port = await listen(server, `listener '${config.name}'`, address, options.portOverrides?.[config.name] ?? config.address.port);
      bound.push({ name: config.name, address, port });
    }
  } catch (error) {
    await closeAll(serving);
    throw error;
  }
  const moved: BoundListener[] = serving.map(({ config }, index) => ({ configured: config.address, port: bound[index].port }));
  clusters = new Map(
    followListeners(options.config.clusters, moved).map((cluster) => [cluster.name, new UpstreamCluster(cluster, options.stats)]),
  );
  const tcpListeners = serving.flatMap(({ tcpProxy }) => (tcpProxy === undefined ? [] : [tcpProxy]));
  return {
    bound,
    clusters: [...clusters.values()],
    get openConnections() {
      return tcpListeners.reduce((sum, listener) => sum + listener.openConnections, 0);
    },
    whenIdle: () => Promise.all(tcpListeners.map((listener) => listener.whenIdle())).then(() => undefined),
    close: () => closeAll(serving),
  };
}

/**
 * The listener's server: its filter chain's, or, when the listener has listener filters, one
 * that runs them first and hands the chain each socket they let through. A connection is counted
 * as Envoy counts it, once the listener filters are done with it.
 */
function serve(
  config: ListenerConfig,
  options: ListenersOptions,
  findCluster: (name: string) => UpstreamCluster | undefined,
): Serving {
  const chain = serveChain(config, options, findCluster);
  const listenerStats = defineListenerStats(options.stats, config.address, config.listenerFilters.length > 0);
  if (listenerStats.listenerFilters === undefined) {
    chain.server.on("connection", () => listenerStats.downstreamCxTotal.add(1));
    return chain;
  }
  const stage = new ListenerFilterStage(config, options.stats, listenerStats.listenerFilters, (socket, addresses) => {
    listenerStats.downstreamCxTotal.add(1);
    chain.accept(socket, addresses);
  });
  // paused: the listener filters read the first bytes, the chain the rest
  const server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => stage.accept(socket));
  return {
    ...chain,
    server,
    endConnections: () => {
      stage.abortAll();
      chain.endConnections();
    },
  };
}

/** The server that runs the listener's filter chain, chosen by its terminal filter. */
function serveChain(
  config: ListenerConfig,
  options: ListenersOptions,
  findCluster: (name: string) => UpstreamCluster | undefined,
): Serving {
  const terminal = config.filters[config.filters.length - 1];
  if (terminal?.kind === "tcp_proxy") {
    const tcpProxy = new TcpProxyListener({
      listenerName: config.name,
      tcpProxy: terminal,
      factories: options.filtersOf(config),
      findCluster,
      stats: tcpProxyStats(options.stats, terminal.statPrefix),
    });
    return {
      config,
      server: tcpProxy.server,
      accept: (socket, addresses) => tcpProxy.accept(socket, addresses),
      endConnections: () => tcpProxy.abortConnections(),
      tcpProxy,
    };
  }
  if (terminal?.kind === "http_connection_manager") {
    const { server, endConnections } = createDirectResponseListener(terminal, httpConnectionManagerStats(options.stats, terminal.statPrefix));
    return {
      config,
      server,
      accept: (socket) => {
        server.emit("connection", socket);
        socket.resume();
      },
      endConnections,
    };
  }
  throw new Error(`listener '${config.name}': the last filter must be tcp_proxy or http_connection_manager`);
}

async function closeAll(serving: Serving[]): Promise<void> {
  const closing = serving.map(({ server }) => closeServer(server));
  for (const { endConnections } of serving) endConnections();
  await Promise.all(closing);
}
