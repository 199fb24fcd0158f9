// One downstream connection through its filter chain to an upstream host, driven the way
// Envoy's tcp_proxy drives it (docs/envoy-host.md §3, §13): the filters see the new connection,
// then tcp_proxy's own new connection picks the cluster and connects, unless a filter holds it
// (StopIteration) or closed the connection; nothing is read from the client until the upstream is
// connected (tcp_proxy disables downstream reads from its creation); each direction ends once with
// a 0-byte end of stream; the downstream closes when both directions are done, on a reset, when
// a filter closes it (after flushing what was written to the client), or when the idle timeout
// fires, and that ends the filters. Along the way it counts tcp_proxy's and the cluster's Envoy
// stats.

import { connect, type Socket } from "node:net";
import { socketEndpoints } from "../address.ts";
import type { ConnectionInfo, FilterFactory, UpstreamHostInfo } from "../wasm/api.ts";
import type { UpstreamCluster } from "./cluster.ts";
import type { TcpProxyStats } from "./envoy-stats.ts";
import { FilterChain } from "./filter-chain.ts";

const END_OF_STREAM = new Uint8Array(0);

export interface TcpProxyConnectionOptions {
  listenerName: string;
  factories: FilterFactory[];
  /** tcp_proxy's cluster; undefined when it does not exist (the connection is closed) */
  cluster: UpstreamCluster | undefined;
  /** the tcp_proxy filter's stats, shared by its listener's connections */
  stats: TcpProxyStats;
  /** tcp_proxy's idle_timeout in ms; 0: none */
  idleTimeoutMs: number;
  /** both sockets are closed: the connection holds nothing any more */
  onReleased(connection: TcpProxyConnection): void;
  /** the addresses the filters see; the socket's own when absent (a listener filter may change them) */
  info?: ConnectionInfo;
}

export class TcpProxyConnection {
  private readonly chain: FilterChain;
  private upstream: Socket | undefined;
  private upstreamConnected = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** the client's FIN has been read */
  private clientEnded = false;
  /** our FIN to the client has been flushed */
  private clientWriteDone = false;
  /** a filter closed the connection: what was written to the client is being flushed */
  private closingForFilter = false;
  private ended = false;
  private openSockets = 1;

  constructor(
    private readonly downstream: Socket,
    private readonly options: TcpProxyConnectionOptions,
  ) {
    this.chain = new FilterChain(options.factories, options.info ?? connectionInfo(downstream, options.listenerName), {
      startTerminal: () => this.onTcpProxyNewConnection(),
      toUpstream: (data, endOfStream) => this.writeUpstream(data, endOfStream),
      toClient: (data, endOfStream) => this.writeClient(data, endOfStream),
      // a filter may ask from inside one of its callbacks: close once that callback has returned
      closeDownstream: () => queueMicrotask(() => this.closeForFilter()),
    });
  }

  /** `downstream` is paused (the listener's pauseOnConnect): it is read once the upstream is connected. */
  start(): void {
    // errors always end in 'close', which is where the connection is ended
    this.downstream.on("error", () => {});
    this.downstream.on("close", () => {
      this.end("remote");
      this.socketClosed();
    });
    this.downstream.on("finish", () => {
      this.clientWriteDone = true;
      this.endIfBothDirectionsDone("local");
    });
    this.downstream.on("data", (data: Buffer) => {
      this.options.stats.downstreamCxRxBytesTotal.add(data.length);
      this.onClientData(data);
    });
    this.downstream.on("end", () => this.onClientEnd());
    // tcp_proxy is the last stage: a filter that closed the connection (a failed VM under
    // FAIL_CLOSED, proxy_close_stream) keeps it from ever connecting upstream (§8), and one that
    // answered StopIteration holds it until the filter continues (§3).
    this.chain.start();
  }

  /** tcp_proxy's onNewConnection: the idle timer starts, the cluster is picked, the upstream connects. */
  private onTcpProxyNewConnection(): void {
    if (this.ended) return;
    // from here on, so that an upstream that never answers times out too
    this.resetIdleTimer();
    this.connectUpstream();
  }

  /** Reset both sockets now (the host is shutting down). */
  abort(): void {
    this.end("local");
    this.upstream?.destroy();
  }

  private connectUpstream(): void {
    const cluster = this.options.cluster;
    if (cluster === undefined) {
      this.options.stats.downstreamCxNoRoute.add(1);
      return this.end("local");
    }
    this.chain.onClusterSelected(cluster.info);
    const host = cluster.pickEndpoint();
    if (host === undefined) return this.end("local");

    const { address, port } = host.info.address;
    const upstream = connect({ host: address, port, allowHalfOpen: true, noDelay: true });
    this.upstream = upstream;
    this.openSockets++;
    cluster.connecting(host);
    this.connectTimer = setTimeout(() => this.end("local"), cluster.connectTimeoutMs);
    upstream.on("error", () => {});
    upstream.on("close", () => {
      cluster.closed(host, this.upstreamConnected);
      this.onUpstreamClosed();
      this.socketClosed();
    });
    upstream.once("connect", () => {
      cluster.connected(host);
      this.onUpstreamConnected(upstream, host.info);
    });
  }

  private onUpstreamConnected(upstream: Socket, host: UpstreamHostInfo): void {
    clearTimeout(this.connectTimer);
    this.upstreamConnected = true;
    this.chain.onUpstreamConnected(host);
    upstream.on("data", (data: Buffer) => {
      if (this.ended) return;
      this.resetIdleTimer();
      this.chain.upstreamData(data, false);
    });
    upstream.on("end", () => this.onUpstreamEnd());
    this.downstream.resume();
  }

  private onClientData(data: Buffer): void {
    if (!this.ended) this.chain.downstreamData(data, false);
  }

  private onClientEnd(): void {
    if (this.ended) return;
    this.clientEnded = true;
    this.chain.downstreamData(END_OF_STREAM, true);
    this.endIfBothDirectionsDone("remote");
  }

  private onUpstreamEnd(): void {
    if (this.ended) return;
    this.resetIdleTimer();
    this.chain.upstreamData(END_OF_STREAM, true);
    this.chain.onUpstreamClose();
  }

  /** A reset, a failed connect, or the last close after both FINs: flush to the client and close it. */
  private onUpstreamClosed(): void {
    if (this.ended) return;
    if (!this.upstreamConnected || this.downstream.writableFinished) return this.end("local");
    this.downstream.once("finish", () => this.end("local"));
    this.downstream.end();
  }

  /** `lastEvent` is the side whose half-close completed the pair, which is the side that closed. */
  private endIfBothDirectionsDone(lastEvent: "local" | "remote"): void {
    if (this.clientEnded && this.clientWriteDone) this.end(lastEvent);
  }

  /** tcp_proxy's onData: what the filters passed on goes to the upstream. */
  private writeUpstream(data: Uint8Array, endOfStream: boolean): void {
    const upstream = this.upstream;
    if (this.ended || upstream === undefined || upstream.writableEnded) return;
    this.resetIdleTimer();
    if (data.length > 0 && !upstream.write(data, this.onBytesSent)) pauseUntilDrained(this.downstream, upstream);
    if (endOfStream) upstream.end();
  }

  private writeClient(data: Uint8Array, endOfStream: boolean): void {
    const downstream = this.downstream;
    if (this.ended || downstream.writableEnded) return;
    if (data.length > 0) {
      this.options.stats.downstreamCxTxBytesTotal.add(data.length);
      const flushed = downstream.write(data, this.onBytesSent);
      if (!flushed && this.upstream !== undefined) pauseUntilDrained(this.upstream, downstream);
    }
    if (endOfStream) downstream.end();
  }

  /** Bytes went out on either socket: Envoy's bytes-sent callbacks restart the idle period. */
  private readonly onBytesSent = (): void => this.resetIdleTimer();

  /**
   * Envoy's resetIdleTimer: the idle period starts again whenever tcp_proxy passes data on or a
   * socket sends bytes, in either direction.
   */
  private resetIdleTimer(): void {
    if (this.options.idleTimeoutMs === 0 || this.openSockets === 0) return;
    if (this.idleTimer === undefined) this.idleTimer = setTimeout(() => this.onIdleTimeout(), this.options.idleTimeoutMs);
    else this.idleTimer.refresh();
  }

  /**
   * No byte either way for idle_timeout: tcp_proxy counts idle_timeout and closes the client
   * without flushing, which closes the upstream the same way. After the client has gone, the
   * timer still guards the upstream flushing what it was given (Envoy's Drainer).
   */
  private onIdleTimeout(): void {
    this.idleTimer = undefined;
    const upstreamOpen = this.upstream !== undefined && !this.upstream.destroyed;
    if (this.ended && !upstreamOpen) return;
    this.options.stats.idleTimeout.add(1);
    this.abort();
  }

  /**
   * A filter closed the connection: Envoy's FlushWrite sends what was written to the client, then
   * closes the socket; its LocalClose then closes the upstream without flushing
   * (TcpUpstream::onDownstreamEvent, docs/envoy-host.md §3, §13).
   */
  private closeForFilter(): void {
    if (this.ended || this.closingForFilter) return;
    this.closingForFilter = true;
    clearTimeout(this.connectTimer);
    const closed = () => {
      this.upstream?.destroy();
      this.end("local");
    };
    const downstream = this.downstream;
    // a closing connection reads no more (Envoy disables reads while it flushes)
    downstream.pause();
    if (downstream.writableFinished || downstream.destroyed) return closed();
    downstream.once("finish", closed);
    downstream.end();
  }

  /** End the filters exactly once, close the client, and let the upstream flush what it was given. */
  private end(peer: "local" | "remote"): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.connectTimer);
    this.downstream.destroy();
    if (this.upstream !== undefined) closeAfterFlush(this.upstream, this.upstreamConnected);
    this.chain.onDownstreamClose(peer);
  }

  private socketClosed(): void {
    this.openSockets--;
    if (this.openSockets > 0) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.options.onReleased(this);
  }
}

function connectionInfo(socket: Socket, listenerName: string): ConnectionInfo {
  return { ...socketEndpoints(socket), listenerName };
}

/** Backpressure: stop reading from one side until the other has written out what it holds. */
function pauseUntilDrained(reader: Socket, writer: Socket): void {
  if (reader.isPaused()) return;
  reader.pause();
  writer.once("drain", () => reader.resume());
}

/** Envoy closes the upstream with FlushWrite: what was written still goes out, then the socket closes. */
function closeAfterFlush(socket: Socket, connected: boolean): void {
  if (!connected || socket.writableFinished) {
    socket.destroy();
    return;
  }
  socket.once("finish", () => socket.destroy());
  socket.end();
}
