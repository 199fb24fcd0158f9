// Envoy's admin interface, the endpoints the local host implements: readiness, stats in text
// and Prometheus formats, and a clean shutdown.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { StatsStore } from "./stats.ts";

export interface AdminOptions {
  stats: StatsStore;
  /** POST /quitquitquit: called once the answer has been sent */
  quit(): void;
}

const TEXT = "text/plain; charset=UTF-8";
const PROMETHEUS = "text/plain; version=0.0.4";

const HELP = [
  "admin commands are:",
  "  /quitquitquit (POST): exit the server",
  "  /ready: print server state, return 200 if LIVE, otherwise return 503",
  "  /stats: print server stats",
  "  /stats/prometheus: print server stats in prometheus format",
  "",
].join("\n");

export function createAdminServer(options: AdminOptions): Server {
  return createServer((request, response) => route(options, request, response));
}

function route(options: AdminOptions, request: IncomingMessage, response: ServerResponse): void {
  request.resume();
  const path = (request.url ?? "/").split("?")[0];
  const method = request.method ?? "GET";
  if (path === "/quitquitquit") {
    if (method !== "POST") return send(response, 405, TEXT, "This endpoint requires POST\n");
    response.on("finish", () => options.quit());
    return send(response, 200, TEXT, "OK\n");
  }
  if (method !== "GET" && method !== "HEAD") return send(response, 405, TEXT, "This endpoint requires GET\n");
  if (path === "/ready") return send(response, 200, TEXT, "LIVE\n");
  if (path === "/stats") return send(response, 200, TEXT, options.stats.renderText());
  if (path === "/stats/prometheus") return send(response, 200, PROMETHEUS, options.stats.renderPrometheus());
  send(response, 404, TEXT, `invalid path. ${HELP}`);
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    server: "envoy",
  });
  response.end(body);
}
