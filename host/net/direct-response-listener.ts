// A listener whose filter chain is an HTTP connection manager with direct responses only: it
// answers each request from its route table, with the headers Envoy sends, and counts its
// connections, requests and response classes in the manager's Envoy stats.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { HttpConnectionManagerConfig } from "../config/model.ts";
import type { HttpConnectionManagerStats } from "./envoy-stats.ts";
import { matchRoute } from "./route-match.ts";

export function createDirectResponseServer(config: HttpConnectionManagerConfig, stats: HttpConnectionManagerStats): Server {
  const server = createServer((request, response) => {
    stats.downstreamRqTotal.add(1);
    answer(config, request, response);
    stats.responseSent(response.statusCode);
  });
  server.on("connection", () => stats.downstreamCxTotal.add(1));
  // no `Keep-Alive: timeout=5` header, which Envoy does not send; idle connections end with the host
  server.keepAliveTimeout = 0;
  return server;
}

function answer(config: HttpConnectionManagerConfig, request: IncomingMessage, response: ServerResponse): void {
  const route = matchRoute(config.routes, request.headers.host ?? "", request.url ?? "/");
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
