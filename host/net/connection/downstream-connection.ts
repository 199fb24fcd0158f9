// One accepted client connection, as Envoy's ConnectionImpl holds it (docs/envoy-host.md §3,
// §13): its socket, its filter chain (the read buffer, the walk, the writes to the client),
// reading paused and resumed, and its close. It ends exactly once: when both directions are
// done, on a reset, when a filter closes it (FlushWrite: what was written to the client goes out
// first), or when its owner aborts it; the filters hear it then. It is released once every
// socket it stands for (its own, and the upstream tcp_proxy opened for it) has closed.

import type { Socket } from "node:net";
import type { ConnectionInfo, FilterConnection, FilterFactory, ReadFilter, ReadFilterCallbacks } from "../../wasm/api.ts";
import type { Stat } from "../envoy-stats.ts";
import { FilterChain } from "./filter-chain.ts";

const END_OF_STREAM = new Uint8Array(0);

/** How the connection ended, for tcp_proxy's upstream (TcpUpstream::onDownstreamEvent). */
export type DownstreamEnd = {
  /** local: this side closed it; remote: the client did */
  peer: "local" | "remote";
  /** the upstream is reset rather than flushed: a filter closed the connection, or it was aborted */
  resetUpstream: boolean;
};

/** What the connection counts of its bytes (Envoy's ConnectionStats, given by tcp_proxy). */
export interface ConnectionByteStats {
  rxBytes: Stat;
  txBytes: Stat;
}

/** The chain's last read filter, which also hears of the connection's life (tcp_proxy). */
export interface TerminalFilter extends ReadFilter {
  /** the connection has ended; the filters hear it right after */
  onEnd(end: DownstreamEnd): void;
  /** bytes written to the client went out (Envoy's bytes-sent callbacks) */
  onBytesSent(): void;
  /** every socket the connection stands for has closed */
  onReleased(): void;
}

export class DownstreamConnection implements FilterConnection {
  private readonly chain: FilterChain;
  private readonly terminal: TerminalFilter;
  /** bytes read and written, counted where tcp_proxy says (null: not counted) */
  private stats: ConnectionByteStats | null = null;
  /** the client's FIN has been read */
  private clientEnded = false;
  /** our FIN to the client has been flushed */
  private clientWriteDone = false;
  /** a filter closed the connection: what was written to the client is being flushed */
  private closing = false;
  private ended = false;
  private openSockets = 1;

  constructor(
    private readonly socket: Socket,
    factories: readonly FilterFactory[],
    info: ConnectionInfo,
    /** the chain's last read filter (tcp_proxy), made for this connection */
    terminal: (connection: DownstreamConnection, callbacks: ReadFilterCallbacks) => TerminalFilter,
  ) {
    let made: TerminalFilter | undefined;
    this.chain = new FilterChain(factories, info, this, (callbacks) => (made = terminal(this, callbacks)));
    this.terminal = made!;
  }

  /** Where the bytes read and written are counted (Envoy's setConnectionStats). */
  setConnectionStats(stats: ConnectionByteStats): void {
    this.stats = stats;
  }

  /** Envoy's `state() == Open`: no filter has closed it and it has not ended. */
  get open(): boolean {
    return !this.closing && !this.ended;
  }

  /** `socket` is paused (the listener's pauseOnConnect): reading starts when the terminal asks. */
  start(): void {
    const socket = this.socket;
    // errors always end in 'close', which is where the connection is ended
    socket.on("error", () => {});
    socket.on("close", () => {
      this.end({ peer: "remote", resetUpstream: false });
      this.socketClosed();
    });
    socket.on("finish", () => {
      this.clientWriteDone = true;
      this.endIfBothDirectionsDone("local");
    });
    socket.on("data", (data: Buffer) => {
      this.stats?.rxBytes.add(data.length);
      if (!this.ended) this.chain.onRead(data, false);
    });
    socket.on("end", () => this.onClientEnd());
    this.chain.initialize();
  }

  /** Start or stop reading from the client (Envoy's readDisable). */
  readDisable(disabled: boolean): void {
    if (disabled) this.socket.pause();
    else this.socket.resume();
  }

  /** Backpressure: stop reading from the client until `upstream` has written out what it holds. */
  pauseReadingUntilDrained(upstream: Socket): void {
    pauseUntilDrained(this.socket, upstream);
  }

  /** Backpressure: stop reading from `upstream` until the client's socket has written out what it holds. */
  pauseUntilClientDrained(upstream: Socket): void {
    pauseUntilDrained(upstream, this.socket);
  }

  /** Bytes to the client, through the filters' onWrite; false when the socket's buffer is full. */
  write(data: Uint8Array, endOfStream: boolean): boolean {
    const out = this.chain.onWrite(data, endOfStream);
    const socket = this.socket;
    if (out === null || this.ended || socket.writableEnded) return true;
    let flushed = true;
    if (out.length > 0) {
      this.stats?.txBytes.add(out.length);
      flushed = socket.write(out, this.onBytesSent);
    }
    if (endOfStream) socket.end();
    return flushed;
  }

  /**
   * A filter closes the connection (FlushWrite): it is not open from here on; once the filter's
   * call is over, what was written to the client goes out, then the socket closes, and tcp_proxy
   * resets its upstream (TcpUpstream::onDownstreamEvent, docs/envoy-host.md §3, §13).
   */
  close(): void {
    if (this.closing || this.ended) return;
    this.closing = true;
    queueMicrotask(() => this.flushThenEnd());
  }

  /** The upstream is gone, or failed: flush to the client what it was given, then close. */
  closeAfterFlush(): void {
    if (this.ended) return;
    if (this.socket.writableFinished) return this.end({ peer: "local", resetUpstream: false });
    this.socket.once("finish", () => this.end({ peer: "local", resetUpstream: false }));
    this.socket.end();
  }

  /** End now, resetting both sockets (the host shuts down, or tcp_proxy's idle timeout fired). */
  abort(): void {
    this.end({ peer: "local", resetUpstream: true });
  }

  /** End now, without touching what the upstream was given (no route, no host, connect timeout). */
  endLocally(): void {
    this.end({ peer: "local", resetUpstream: false });
  }

  /** One more socket (tcp_proxy's upstream) keeps the connection from being released until it closes. */
  holdSocket(): () => void {
    this.openSockets++;
    return () => this.socketClosed();
  }

  private readonly onBytesSent = (): void => this.terminal.onBytesSent();

  private onClientEnd(): void {
    if (this.ended) return;
    this.clientEnded = true;
    this.chain.onRead(END_OF_STREAM, true);
    this.endIfBothDirectionsDone("remote");
  }

  /** `lastEvent` is the side whose half-close completed the pair, which is the side that closed. */
  private endIfBothDirectionsDone(lastEvent: "local" | "remote"): void {
    if (this.clientEnded && this.clientWriteDone) this.end({ peer: lastEvent, resetUpstream: false });
  }

  private flushThenEnd(): void {
    if (this.ended) return;
    const socket = this.socket;
    const closed = () => this.end({ peer: "local", resetUpstream: true });
    // a closing connection reads no more (Envoy disables reads while it flushes)
    socket.pause();
    if (socket.writableFinished || socket.destroyed) return closed();
    socket.once("finish", closed);
    socket.end();
  }

  /** End exactly once: close the client, tell tcp_proxy, then the filters. */
  private end(end: DownstreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.destroy();
    this.terminal.onEnd(end);
    this.chain.onDownstreamClose(end.peer);
  }

  private socketClosed(): void {
    this.openSockets--;
    if (this.openSockets === 0) this.terminal.onReleased();
  }
}

/** Stop reading from one side until the other has written out what it holds. */
function pauseUntilDrained(reader: Socket, writer: Socket): void {
  if (reader.isPaused()) return;
  reader.pause();
  writer.once("drain", () => reader.resume());
}
