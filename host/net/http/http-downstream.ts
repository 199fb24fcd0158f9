// The downstream connections of the HTTP connection manager, as Envoy's ConnectionManagerImpl and
// HTTP/1 codec treat them (docs/envoy-host.md §16): a request ("stream") begins with its first
// byte and is counted; its stream_idle_timeout is armed then, and armed again with the whole
// duration at each of the stream's events (its head whole, a piece of its body, its response
// sent), not at every byte; if it fires before the request head is whole, the client gets 408
// `stream timeout`. A connection without a stream is closed after idle_timeout, armed when the
// connection opens and whenever its last stream ends. A malformed request is answered 400, headers
// over Envoy's limits 431, each as Envoy's local reply, and the connection is closed.

import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import { countResponse, type HttpConnectionManagerStats } from "../envoy-stats.ts";

export interface HttpTimeouts {
  /** stream_idle_timeout in ms; 0: none */
  streamIdleTimeoutMs: number;
  /** the connection's idle_timeout in ms; 0: none */
  idleTimeoutMs: number;
}

const STREAM_TIMEOUT_BODY = "stream timeout";

/**
 * The index of the message-begin callback on node's HTTP parser. Node has no public event for the
 * first byte of a request; its parser (llhttp) calls this one there, as Envoy's HTTP/1 codec
 * creates the stream in onMessageBegin. A 'data' listener would see the bytes too, but takes the
 * socket off node's native parser (a fifth of the listener's throughput).
 */
const ON_MESSAGE_BEGIN: number = createRequire(import.meta.url)("_http_common").HTTPParser.kOnMessageBegin;
if (typeof ON_MESSAGE_BEGIN !== "number") throw new Error(`node ${process.version}: its HTTP parser has no message-begin callback`);

type ParserCallback = (this: unknown, ...args: unknown[]) => unknown;
type Parser = Record<number, ParserCallback | null | undefined>;

/** Call `onBegin` at the first byte of each request on `socket`, ahead of whatever node does there. */
function onMessageBegin(socket: Socket, onBegin: () => void): void {
  const parser = (socket as Socket & { parser?: Parser | null }).parser;
  if (parser === undefined || parser === null) throw new Error("node's HTTP server gave a connection no parser");
  const previous = parser[ON_MESSAGE_BEGIN];
  // node clears the callback when it frees the parser for another connection
  parser[ON_MESSAGE_BEGIN] = function (...args) {
    onBegin();
    return previous?.apply(this, args);
  };
}

/** The connections of one listener. */
export class HttpDownstreams {
  private readonly open = new Set<HttpDownstream>();

  constructor(
    private readonly timeouts: HttpTimeouts,
    private readonly stats: HttpConnectionManagerStats,
  ) {}

  /** A connection node's HTTP server has just taken (its parser is set up). */
  accept(socket: Socket): HttpDownstream {
    const downstream = new HttpDownstream(socket, this.timeouts, this.stats);
    this.open.add(downstream);
    socket.on("close", () => this.open.delete(downstream));
    return downstream;
  }

  /**
   * Reset every open connection (the host is shutting down). Tracked here rather than by node's
   * server, which does not track connections handed to it by a listener filter.
   */
  destroyAll(): void {
    for (const downstream of [...this.open]) downstream.destroy();
  }
}

export class HttpDownstream {
  /** streams begun and not done: a stream is done once its request and its response are whole */
  private streams = 0;
  /** a stream has begun whose request head is not whole yet */
  private headPending = false;
  /** Envoy's stream_idle_timer_ */
  private streamTimer: NodeJS.Timeout | undefined;
  /** Envoy's connection_idle_timer_ */
  private idleTimer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly socket: Socket,
    private readonly timeouts: HttpTimeouts,
    private readonly stats: HttpConnectionManagerStats,
  ) {
    onMessageBegin(socket, () => this.streamBegan());
    socket.on("close", () => {
      this.done = true;
      this.disarm();
    });
    this.armIdleTimer();
  }

  /** A request head is whole (the stream was counted at its first byte). */
  requestStarted(request: IncomingMessage, response: ServerResponse): void {
    this.headPending = false;
    this.armStreamTimer();
    request.on("data", () => this.armStreamTimer());
    let ends = 0;
    const endOne = () => {
      if (++ends < 2) return this.armStreamTimer();
      this.streamEnded();
    };
    request.once("end", endOne);
    response.once("finish", endOne);
  }

  /** A whole request head over Envoy's header limits: 431. */
  headersTooLarge(): void {
    this.localReply(431, STATUS_CODES[431]!);
  }

  /**
   * The codec refused what the client sent: Envoy answers it as a local reply, 431 for headers
   * over its limits, 400 for the rest, starting a stream (counted) if none has begun.
   */
  protocolError(tooLarge: boolean): void {
    if (this.streams === 0) this.stats.downstreamRqTotal.add(1);
    this.localReply(tooLarge ? 431 : 400, STATUS_CODES[tooLarge ? 431 : 400]!);
  }

  /** Reset the connection now (the host is shutting down). */
  destroy(): void {
    this.done = true;
    this.disarm();
    this.socket.destroy();
  }

  /** The first byte of a request: Envoy's codec creates the stream, counts it, arms its timer. */
  private streamBegan(): void {
    if (this.done) return;
    this.streams++;
    this.headPending = true;
    this.stats.downstreamRqTotal.add(1);
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.armStreamTimer();
  }

  private streamEnded(): void {
    this.streams--;
    if (this.streams > 0 || this.done) return this.armStreamTimer();
    clearTimeout(this.streamTimer);
    this.streamTimer = undefined;
    this.armIdleTimer();
  }

  /** Envoy's resetIdleTimer: the whole stream_idle_timeout again from now. */
  private armStreamTimer(): void {
    if (this.done || this.timeouts.streamIdleTimeoutMs === 0) return;
    clearTimeout(this.streamTimer);
    this.streamTimer = setTimeout(() => this.onStreamIdleTimeout(), this.timeouts.streamIdleTimeoutMs);
  }

  private armIdleTimer(): void {
    if (this.done || this.timeouts.idleTimeoutMs === 0) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.onIdleTimeout(), this.timeouts.idleTimeoutMs);
  }

  private disarm(): void {
    clearTimeout(this.streamTimer);
    clearTimeout(this.idleTimer);
    this.streamTimer = this.idleTimer = undefined;
  }

  private onStreamIdleTimeout(): void {
    this.streamTimer = undefined;
    this.stats.downstreamRqIdleTimeout.add(1);
    // a direct response goes out with the request head: past it Envoy can only reset the stream
    if (!this.headPending) return this.destroy();
    this.localReply(408, STREAM_TIMEOUT_BODY);
  }

  /** No stream for idle_timeout: Envoy counts it and closes the connection once written out. */
  private onIdleTimeout(): void {
    this.idleTimer = undefined;
    this.stats.downstreamCxIdleTimeout.add(1);
    this.closeAfterFlush();
  }

  /**
   * Envoy's local reply on HTTP/1 before the request is whole: its headers in Envoy's order, and
   * `connection: close`, since the connection cannot carry another request.
   */
  private localReply(status: number, body: string): void {
    countResponse(this.stats, status);
    this.closeAfterFlush(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\ncontent-type: text/plain\r\n` +
        `date: ${new Date().toUTCString()}\r\nserver: envoy\r\nconnection: close\r\n\r\n${body}`,
    );
  }

  /**
   * Envoy's close with FlushWrite: what is written goes out, then the socket closes whole, without
   * waiting for the client's FIN (node's server keeps half-open sockets otherwise).
   */
  private closeAfterFlush(last?: string): void {
    this.done = true;
    this.disarm();
    const socket = this.socket;
    if (!socket.writable) return void socket.destroy();
    socket.end(last ?? "", () => socket.destroy());
  }
}
