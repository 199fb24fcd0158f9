// tcp_proxy, the last read filter of a connection's chain, as Envoy's tcp_proxy filter works
// (source/common/tcp_proxy/tcp_proxy.cc; docs/envoy-host.md §3, §13): its new connection starts
// the idle timer, picks the cluster and connects upstream; nothing is read from the client until
// the upstream is connected; each read buffer it gets goes to the upstream, and what the upstream
// sends goes to the client through the filters. It counts its own and the cluster's stats.

import { connect, type Socket } from "node:net";
import type { ByteBuffer } from "../../buffer.ts";
import type { ConnectionInfo, FilterStatus, UpstreamHostInfo } from "../../wasm/api.ts";
import type { UpstreamCluster } from "./cluster.ts";
import type { DownstreamConnection, DownstreamEnd, TerminalFilter } from "../connection/downstream-connection.ts";
import type { TcpProxyStats } from "../envoy-stats.ts";

const END_OF_STREAM = new Uint8Array(0);

export interface TcpProxyOptions {
  /** tcp_proxy's cluster; undefined when it does not exist (the connection is closed) */
  cluster: UpstreamCluster | undefined;
  /** the tcp_proxy filter's stats, shared by its listener's connections */
  stats: TcpProxyStats;
  /** tcp_proxy's idle_timeout in ms; 0: none */
  idleTimeoutMs: number;
  /** every socket of the connection has closed: it holds nothing any more */
  onReleased(): void;
}

export class TcpProxyFilter implements TerminalFilter {
  private upstream: Socket | undefined;
  private upstreamConnected = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private ended = false;
  /** every socket has closed: no timer may start again */
  private released = false;

  constructor(
    private readonly connection: DownstreamConnection,
    /** the connection's stream info, which tcp_proxy fills in with the cluster and the upstream host */
    private readonly info: ConnectionInfo,
    private readonly options: TcpProxyOptions,
  ) {
    connection.setConnectionStats({
      rxBytes: options.stats.downstreamCxRxBytesTotal,
      txBytes: options.stats.downstreamCxTxBytesTotal,
    });
  }

  /** The idle timer starts, the cluster is picked, the upstream connects; the chain ends here. */
  onNewConnection(): FilterStatus {
    // from here on, so that an upstream that never answers times out too
    this.resetIdleTimer();
    this.connectUpstream();
    return "StopIteration";
  }

  /** The read buffer goes to the upstream, drained (tcp_proxy's onData). */
  onData(data: ByteBuffer, endOfStream: boolean): FilterStatus {
    const bytes = data.take();
    const upstream = this.upstream;
    if (this.ended || upstream === undefined || upstream.writableEnded) return "StopIteration";
    this.resetIdleTimer();
    if (bytes.length > 0 && !upstream.write(bytes, this.onBytesSent)) this.connection.pauseReadingUntilDrained(upstream);
    if (endOfStream) upstream.end();
    return "StopIteration";
  }

  /** The connection ended: the upstream is flushed and closed, or reset (TcpUpstream::onDownstreamEvent). */
  onEnd(end: DownstreamEnd): void {
    this.ended = true;
    clearTimeout(this.connectTimer);
    const upstream = this.upstream;
    if (upstream === undefined) return;
    if (end.resetUpstream) upstream.destroy();
    else closeAfterFlush(upstream, this.upstreamConnected);
  }

  /** Bytes went out on either socket: Envoy's bytes-sent callbacks restart the idle period. */
  readonly onBytesSent = (): void => this.resetIdleTimer();

  onReleased(): void {
    this.released = true;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.options.onReleased();
  }

  private connectUpstream(): void {
    const cluster = this.options.cluster;
    if (cluster === undefined) {
      this.options.stats.downstreamCxNoRoute.add(1);
      return this.connection.endLocally();
    }
    this.info.cluster = cluster.info;
    const host = cluster.pickEndpoint();
    if (host === undefined) return this.connection.endLocally();

    const { address, port } = host.info.address;
    const upstream = connect({ host: address, port, allowHalfOpen: true, noDelay: true });
    this.upstream = upstream;
    const release = this.connection.holdSocket();
    cluster.connecting(host);
    this.connectTimer = setTimeout(() => this.connection.endLocally(), cluster.connectTimeoutMs);
    upstream.on("error", () => {});
    upstream.on("close", () => {
      cluster.closed(host, this.upstreamConnected);
      this.onUpstreamClosed();
      release();
    });
    upstream.once("connect", () => {
      cluster.connected(host);
      this.onUpstreamConnected(upstream, host.info);
    });
  }

  private onUpstreamConnected(upstream: Socket, host: UpstreamHostInfo): void {
    clearTimeout(this.connectTimer);
    this.upstreamConnected = true;
    this.info.upstream = host;
    upstream.on("data", (data: Buffer) => {
      if (this.ended) return;
      this.resetIdleTimer();
      if (!this.connection.write(data, false)) this.connection.pauseUntilClientDrained(upstream);
    });
    upstream.on("end", () => this.onUpstreamEnd());
    this.connection.readDisable(false);
  }

  private onUpstreamEnd(): void {
    if (this.ended) return;
    this.resetIdleTimer();
    this.connection.write(END_OF_STREAM, true);
  }

  /** A reset, a failed connect, or the last close after both FINs: flush to the client and close it. */
  private onUpstreamClosed(): void {
    if (this.ended) return;
    if (!this.upstreamConnected) return this.connection.endLocally();
    this.connection.closeAfterFlush();
  }

  /**
   * Envoy's resetIdleTimer: the idle period starts again whenever tcp_proxy passes data on or a
   * socket sends bytes, in either direction.
   */
  private resetIdleTimer(): void {
    if (this.options.idleTimeoutMs === 0 || this.released) return;
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

  /** Reset both sockets now (the idle timeout, or the host is shutting down). */
  abort(): void {
    this.connection.abort();
    this.upstream?.destroy();
  }
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
