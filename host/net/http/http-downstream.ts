// The downstream connections of the HTTP connection manager, as Envoy's ConnectionManagerImpl and
// HTTP/1 codec treat them (docs/envoy-host.md §16): a request ("stream") begins with its first
// byte and is counted; stream_idle_timeout runs from then while no byte moves, and answers 408
// `stream timeout` if it fires before the request head is whole; a connection without a request
// in flight is closed after idle_timeout; a malformed request is answered 400, headers over
// Envoy's limits 431, each as Envoy's local reply, and the connection is closed.
//
// The first byte of a request is seen in the socket's byte count, swept over all connections a
// few times per timeout, rather than by a 'data' listener, which would take the socket off node's
// native HTTP parser (a fifth of the listener's throughput).

import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { countResponse, type HttpConnectionManagerStats } from "../envoy-stats.ts";

export interface HttpTimeouts {
  /** stream_idle_timeout in ms; 0: none */
  streamIdleTimeoutMs: number;
  /** the connection's idle_timeout in ms; 0: none */
  idleTimeoutMs: number;
}

const STREAM_TIMEOUT_BODY = "stream timeout";
/** A timeout fires within a quarter of its length, and the sweep runs at most once a second. */
const SWEEPS_PER_TIMEOUT = 4;
const MAX_SWEEP_MS = 1000;

/** The connections of one listener, and the sweep that runs their timeouts. */
export class HttpDownstreams {
  private readonly open = new Set<HttpDownstream>();
  private sweep: NodeJS.Timeout | undefined;
  /** undefined: no timeout to run */
  private readonly sweepEveryMs: number | undefined;

  constructor(
    private readonly timeouts: HttpTimeouts,
    private readonly stats: HttpConnectionManagerStats,
  ) {
    const set = [timeouts.streamIdleTimeoutMs, timeouts.idleTimeoutMs].filter((ms) => ms > 0);
    this.sweepEveryMs = set.length === 0 ? undefined : Math.min(MAX_SWEEP_MS, Math.max(1, Math.floor(Math.min(...set) / SWEEPS_PER_TIMEOUT)));
  }

  accept(socket: Socket): HttpDownstream {
    const downstream = new HttpDownstream(socket, this.timeouts, this.stats);
    this.open.add(downstream);
    socket.on("close", () => {
      this.open.delete(downstream);
      if (this.open.size === 0) this.stopSweeping();
    });
    if (this.sweep === undefined && this.sweepEveryMs !== undefined) {
      // the timers of open connections never keep the process alive on their own
      this.sweep = setInterval(() => this.sweepAll(), this.sweepEveryMs).unref();
    }
    return downstream;
  }

  private sweepAll(): void {
    const now = performance.now();
    for (const downstream of this.open) downstream.sweep(now);
  }

  private stopSweeping(): void {
    clearInterval(this.sweep);
    this.sweep = undefined;
  }
}

export class HttpDownstream {
  /** requests whose response has not gone out, or whose body has not come in, whole */
  private inFlight = 0;
  /** bytes have arrived that have not made a whole request head yet */
  private partial = false;
  private bytesSeen: number;
  /** performance.now() of the last byte or request event */
  private lastActivity = performance.now();
  private done = false;

  constructor(
    private readonly socket: Socket,
    private readonly timeouts: HttpTimeouts,
    private readonly stats: HttpConnectionManagerStats,
  ) {
    // bytes a listener filter read and handed back are still to come, as a request's first ones
    this.bytesSeen = socket.bytesRead - socket.readableLength;
    socket.on("close", () => (this.done = true));
  }

  /** A request head is whole: a stream Envoy counts, in flight until both its ends are whole. */
  requestStarted(request: IncomingMessage, response: ServerResponse): void {
    this.partial = false;
    this.inFlight++;
    this.stats.downstreamRqTotal.add(1);
    this.activity();
    let ends = 0;
    const endOne = () => {
      if (++ends < 2) return;
      this.inFlight--;
      this.activity();
    };
    request.once("end", endOne);
    response.once("finish", endOne);
  }

  /** A whole request head over Envoy's header limits (its stream was counted): 431. */
  headersTooLarge(): void {
    this.localReply(431, STATUS_CODES[431]!);
  }

  /**
   * The codec refused what the client sent: Envoy answers it as a local reply, 431 for headers
   * over its limits, 400 for the rest. A request head that never became whole is a stream of its
   * own, counted here.
   */
  protocolError(tooLarge: boolean): void {
    if (this.inFlight === 0) this.stats.downstreamRqTotal.add(1);
    this.localReply(tooLarge ? 431 : 400, STATUS_CODES[tooLarge ? 431 : 400]!);
  }

  /** Notices new bytes, and fires the timeout whose time has come. */
  sweep(now: number): void {
    if (this.done) return;
    if (this.socket.bytesRead !== this.bytesSeen) {
      this.bytesSeen = this.socket.bytesRead;
      if (this.inFlight === 0) this.partial = true;
      this.lastActivity = now;
    }
    const idleFor = now - this.lastActivity;
    if (this.partial || this.inFlight > 0) {
      if (this.timeouts.streamIdleTimeoutMs > 0 && idleFor >= this.timeouts.streamIdleTimeoutMs) this.onStreamIdleTimeout();
    } else if (this.timeouts.idleTimeoutMs > 0 && idleFor >= this.timeouts.idleTimeoutMs) {
      this.done = true;
      this.stats.downstreamCxIdleTimeout.add(1);
      this.socket.end();
    }
  }

  /** The bytes read so far belong to requests already announced. */
  private activity(): void {
    this.bytesSeen = this.socket.bytesRead;
    this.lastActivity = performance.now();
  }

  private onStreamIdleTimeout(): void {
    this.stats.downstreamRqIdleTimeout.add(1);
    // a direct response goes out with the request head: past it Envoy can only reset the stream
    if (!this.partial) {
      this.done = true;
      return void this.socket.destroy();
    }
    this.stats.downstreamRqTotal.add(1);
    this.localReply(408, STREAM_TIMEOUT_BODY);
  }

  /**
   * Envoy's local reply on HTTP/1 before the request is whole: its headers in Envoy's order, and
   * `connection: close`, since the connection cannot carry another request.
   */
  private localReply(status: number, body: string): void {
    this.done = true;
    countResponse(this.stats, status);
    if (!this.socket.writable) return void this.socket.destroy();
    this.socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\ncontent-type: text/plain\r\n` +
        `date: ${new Date().toUTCString()}\r\nserver: envoy\r\nconnection: close\r\n\r\n${body}`,
    );
  }
}
