// A listener's listener_filters, run on each accepted socket before it becomes a connection, as
// Envoy's ActiveTcpSocket runs them (docs/envoy-host.md §18): each filter in turn reads the
// client's first bytes (Envoy peeks at them; here they are read and handed back to the socket
// afterwards), and either waits for more, closes the socket, or passes it on having taken its
// header off and set the connection's addresses. listener_filters_timeout ends the wait: the
// socket is closed, or becomes a connection as it is with continue_on_listener_filters_timeout.

import type { Socket } from "node:net";
import type { ListenerConfig, ProxyProtocolListenerFilter } from "../../config/model.ts";
import type { StatsStore } from "../../stats.ts";
import type { ListenerFilterStats } from "../envoy-stats.ts";
import { socketEndpoints } from "../ip-text.ts";
import { ProxyProtocolStats, readProxyHeader, type HeaderAddresses } from "./proxy-protocol.ts";

/** A socket the listener filters have finished with: its addresses, as the filters left them. */
export type Deliver = (socket: Socket, addresses: HeaderAddresses) => void;

/** What one listener filter makes of the bytes received so far. */
type Verdict = { action: "wait" } | { action: "close" } | { action: "continue"; consumed: number; addresses: HeaderAddresses | null };

/** One listener filter's instance for one socket (Envoy's onData with the peeked bytes). */
type ListenerFilter = (data: Uint8Array) => Verdict;

export class ListenerFilterStage {
  /** the sockets still in the listener filters, each with what closes it and clears its timer */
  private readonly pending = new Map<Socket, () => void>();
  private readonly filters: Array<() => ListenerFilter>;

  constructor(
    private readonly config: ListenerConfig,
    store: StatsStore,
    private readonly stats: ListenerFilterStats,
    private readonly deliver: Deliver,
  ) {
    this.filters = config.listenerFilters.map((filter) => proxyProtocolFilter(filter, new ProxyProtocolStats(store, filter.statPrefix)));
  }

  /** `socket` was just accepted, paused: it is delivered, or closed, once its listener filters are done. */
  accept(socket: Socket): void {
    const filters = this.filters.map((create) => create());
    let addresses: HeaderAddresses = socketEndpoints(socket);
    /** received and not taken off by a filter: what the connection will read first */
    let received: Uint8Array = Buffer.alloc(0);
    let settled = false;

    const settle = () => {
      settled = true;
      clearTimeout(timer);
      this.pending.delete(socket);
      socket.removeListener("data", onData);
      socket.removeListener("end", onEnd);
      socket.removeListener("error", onError);
    };
    // Envoy closes the socket, whose bytes it only peeked at: unread bytes make the close a reset.
    const close = () => {
      settle();
      socket.on("error", () => {});
      if (received.length > 0) socket.resetAndDestroy();
      else socket.destroy();
    };
    const pass = () => {
      settle();
      socket.pause();
      if (received.length > 0) socket.unshift(received);
      this.deliver(socket, addresses);
    };
    const run = () => {
      while (filters.length > 0 && received.length > 0) {
        const verdict = filters[0](received);
        if (verdict.action === "wait") return;
        if (verdict.action === "close") return close();
        filters.shift();
        received = received.subarray(verdict.consumed);
        if (verdict.addresses !== null) addresses = verdict.addresses;
      }
      if (filters.length === 0) pass();
    };
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      run();
    };
    // The client's FIN: with nothing left to peek at, Envoy sees the close; bytes it can still
    // peek at keep it waiting (for the timeout).
    const onEnd = () => {
      if (settled || received.length > 0) return;
      this.stats.remoteClose.add(1);
      close();
    };
    const onError = () => {
      if (settled) return;
      this.stats.error.add(1);
      close();
    };
    const onTimeout = () => {
      if (settled) return;
      this.stats.downstreamPreCxTimeout.add(1);
      if (this.config.continueOnListenerFiltersTimeout) pass();
      else close();
    };
    const timer = this.config.listenerFiltersTimeoutMs > 0 ? setTimeout(onTimeout, this.config.listenerFiltersTimeoutMs) : undefined;
    this.pending.set(socket, close);
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.resume();
  }

  /**
   * Close every socket still in the listener filters (the host is shutting down), and clear its
   * listener_filters_timeout, which would otherwise keep the host's thread alive until it fired.
   */
  abortAll(): void {
    for (const close of [...this.pending.values()]) close();
  }
}

/** envoy.filters.listener.proxy_protocol for one socket: Filter::onData on each new peek. */
function proxyProtocolFilter(config: ProxyProtocolListenerFilter, stats: ProxyProtocolStats): () => ListenerFilter {
  return () => (data) => {
    const reading = readProxyHeader(data, config);
    stats.count(reading);
    switch (reading.state) {
      case "TryAgainLater":
        return { action: "wait" };
      case "Done":
        return { action: "continue", consumed: reading.length, addresses: reading.addresses };
      default:
        return { action: "close" };
    }
  };
}
