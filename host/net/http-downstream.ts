// One downstream connection of the HTTP connection manager, as Envoy's ConnectionManagerImpl and
// HTTP/1 codec treat it (docs/envoy-host.md §14): a request ("stream") begins with its first
// byte, which counts it; stream_idle_timeout runs from then until the response has gone out, and
// answers 408 `stream timeout` if it fires first; a connection with no request in flight is
// closed after idle_timeout; a malformed request is answered 400, headers over Envoy's limits
// 431, each as Envoy's local reply, and the connection is closed.

import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { HttpConnectionManagerStats } from "./envoy-stats.ts";

export interface HttpTimeouts {
  /** stream_idle_timeout in ms; 0: none */
  streamIdleTimeoutMs: number;
  /** the connection's idle_timeout in ms; 0: none */
  idleTimeoutMs: number;
}

const STREAM_TIMEOUT_BODY = "stream timeout";

export class HttpDownstream {
  /** requests whose response has not gone out whole yet */
  private inFlight = 0;
  /** bytes of a request have arrived that have not made a whole request head yet */
  private partial = false;
  private streamTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly timeouts: HttpTimeouts,
    private readonly stats: HttpConnectionManagerStats,
  ) {
    // registered after node's parser: requests whole in these bytes have been announced already
    socket.on("data", () => {
      if (this.inFlight === 0) this.partial = true;
      this.streamActivity();
    });
    socket.on("close", () => this.clearTimers());
    this.startIdleTimer();
  }

  /** A request head is whole: a stream Envoy counts. */
  requestStarted(): void {
    this.partial = false;
    this.inFlight++;
    this.stats.downstreamRqTotal.add(1);
    this.streamActivity();
  }

  /** A response has gone out whole. */
  responseFinished(): void {
    this.inFlight--;
    if (this.inFlight > 0 || this.partial) return this.streamActivity();
    clearTimeout(this.streamTimer);
    this.streamTimer = undefined;
    this.startIdleTimer();
  }

  /**
   * The codec refused what the client sent: Envoy answers it as a local reply, 431 for headers
   * over its limits, 400 for the rest. A request head that never became whole is a stream of its
   * own, counted here (the parser fails before this connection's data listener has run).
   */
  protocolError(tooLarge: boolean): void {
    if (this.inFlight === 0) this.stats.downstreamRqTotal.add(1);
    this.localReply(tooLarge ? 431 : 400, STATUS_CODES[tooLarge ? 431 : 400]!);
  }

  /** A whole request head over Envoy's header limits (its stream was counted): 431. */
  headersTooLarge(): void {
    this.localReply(431, STATUS_CODES[431]!);
  }

  /** A request (or its bytes) is in flight: no connection idle timeout, the stream's restarts. */
  private streamActivity(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.timeouts.streamIdleTimeoutMs === 0) return;
    if (this.streamTimer === undefined) this.streamTimer = setTimeout(() => this.onStreamIdleTimeout(), this.timeouts.streamIdleTimeoutMs);
    else this.streamTimer.refresh();
  }

  private onStreamIdleTimeout(): void {
    this.streamTimer = undefined;
    this.stats.downstreamRqIdleTimeout.add(1);
    // a direct response goes out with the request head: past it Envoy can only reset the stream
    if (!this.partial) return void this.socket.destroy();
    this.stats.downstreamRqTotal.add(1);
    this.localReply(408, STREAM_TIMEOUT_BODY);
  }

  private startIdleTimer(): void {
    if (this.timeouts.idleTimeoutMs === 0 || this.socket.destroyed) return;
    this.idleTimer = setTimeout(() => {
      this.stats.downstreamCxIdleTimeout.add(1);
      this.socket.end();
    }, this.timeouts.idleTimeoutMs);
  }

  /**
   * Envoy's local reply on HTTP/1 before the request is whole: its headers in Envoy's order, and
   * `connection: close`, since the connection cannot carry another request.
   */
  private localReply(status: number, body: string): void {
    this.clearTimers();
    this.stats.responseSent(status);
    if (!this.socket.writable) return void this.socket.destroy();
    this.socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\ncontent-type: text/plain\r\n` +
        `date: ${new Date().toUTCString()}\r\nserver: envoy\r\nconnection: close\r\n\r\n${body}`,
    );
  }

  private clearTimers(): void {
    clearTimeout(this.streamTimer);
    clearTimeout(this.idleTimer);
    this.streamTimer = undefined;
    this.idleTimer = undefined;
  }
}
