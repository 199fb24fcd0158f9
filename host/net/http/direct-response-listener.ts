// A listener whose filter chain is an HTTP connection manager with direct responses only: it
// answers each request from its route table, with the headers Envoy sends, under Envoy's limits
// and timeouts (http-downstream.ts), and counts its connections, requests and response classes in
// the manager's Envoy stats.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { HttpConnectionManagerConfig } from "../../config/model.ts";
import { countResponse, type HttpConnectionManagerStats } from "../envoy-stats.ts";
import { HttpDownstreams, type HttpDownstream } from "./http-downstream.ts";
import { matchRoute } from "./route-match.ts";

/** max_request_headers_kb (60) and max_headers_count (100): Envoy's defaults (§16). */
const MAX_REQUEST_HEADER_BYTES = 60 * 1024;
const MAX_REQUEST_HEADERS = 100;
/**
 * node's parser limit, a backstop above Envoy's: node counts the request line and separators
 * too, Envoy the names and values only, which are checked exactly once parsed.
 */
const PARSER_HEADER_BYTES = MAX_REQUEST_HEADER_BYTES + 8 * 1024;

const downstreams = new WeakMap<Socket, HttpDownstream>();

export interface DirectResponseListener {
  readonly server: Server;
  /** Reset every open connection, those a listener filter handed over included (the host is shutting down). */
  endConnections(): void;
}

export function createDirectResponseListener(config: HttpConnectionManagerConfig, stats: HttpConnectionManagerStats): DirectResponseListener {
  const connections = new HttpDownstreams(config, stats);
  const server = createServer(
    // Envoy has no request headers timeout by default and no whole-request timeout: node's are off
    { maxHeaderSize: PARSER_HEADER_BYTES, headersTimeout: 0, requestTimeout: 0 },
    (request, response) => {
      const downstream = downstreams.get(request.socket)!;
      downstream.requestStarted(request, response);
      if (headersTooLarge(request)) return downstream.headersTooLarge();
      answer(config, request, response);
      countResponse(stats, response.statusCode);
    },
  );
  server.on("connection", (socket: Socket) => {
    stats.downstreamCxTotal.add(1);
    downstreams.set(socket, connections.accept(socket));
  });
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    const downstream = downstreams.get(socket);
    if (downstream === undefined || error.code === "ECONNRESET") return void socket.destroy();
    downstream.protocolError(error.code === "HPE_HEADER_OVERFLOW");
  });
  // no `Keep-Alive: timeout=5` header, which Envoy does not send; idle connections end by idle_timeout
  server.keepAliveTimeout = 0;
  return { server, endConnections: () => connections.destroyAll() };
}

/** Envoy's header limits: the names and values together, and their number. */
function headersTooLarge(request: IncomingMessage): boolean {
  const raw = request.rawHeaders;
  const bytes = raw.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
  return bytes > MAX_REQUEST_HEADER_BYTES || raw.length / 2 > MAX_REQUEST_HEADERS;
}

function answer(config: HttpConnectionManagerConfig, request: IncomingMessage, response: ServerResponse): void {
  const route = matchRoute(config.routes, request.headers.host ?? "", request.url ?? "/", (name) => request.headersDistinct[name]);
  const status = route?.status ?? 404;
  const body = Buffer.from(route?.body ?? "");
  // Envoy's headers, in its order and lower case (node's own Date header is capitalised)
  response.sendDate = false;
  // nor does Envoy send `Connection: keep-alive`; removing it stops node adding its own
  response.removeHeader("connection");
  response.writeHead(status, {
    "content-length": body.length,
    ...(body.length > 0 ? { "content-type": "text/plain" } : {}),
    date: new Date().toUTCString(),
    server: "envoy",
  });
  // node leaves the body out of a HEAD response and keeps content-length, as Envoy does
  response.end(body);
  // the request body is not needed: read it to the end so the connection stays usable
  request.resume();
}
