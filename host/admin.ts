// Envoy's admin interface, the endpoints the local host implements, answered as Envoy's AdminImpl
// answers them (source/server/admin/admin.cc; docs/envoy-host.md §14): a request goes to the
// handler whose path is exactly the request's path; a handler that changes the server takes POST
// only; the help lists the handlers sorted by path with their parameters; any other path is 404
// with that help.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { renderClusters } from "./admin/clusters.ts";
import { renderListenersJson, renderListenersText, type BoundListener } from "./admin/listeners.ts";
import { handleLogging } from "./admin/logging.ts";
import { parseQuery, type QueryParams } from "./admin/query.ts";
import { readyReply, renderServerInfo, type ServerFacts } from "./admin/server-info.ts";
import { parseStatsQuery, type StatsFormat } from "./admin/stats-query.ts";
import { MAIN_THREAD, type AdjustableLogger } from "./log.ts";
import { LOG_LEVELS, SPDLOG_NAMES } from "./loggers.ts";
import type { UpstreamCluster } from "./net/tcp-proxy/cluster.ts";
import type { AdminStatsStore } from "./stats.ts";

export interface AdminOptions {
  stats: AdminStatsStore;
  logger: AdjustableLogger;
  /** the server's state and start-up facts, as /ready and /server_info show them */
  server(): ServerFacts;
  /** the listeners bound so far */
  listeners(): readonly BoundListener[];
  clusters(): readonly UpstreamCluster[];
  /** POST /quitquitquit: called once the answer has been sent */
  quit(): void;
}

const TEXT = "text/plain; charset=UTF-8";
const JSON_TYPE = "application/json";
const PROMETHEUS = "text/plain; version=0.0.4";
const ADMIN_SOURCE = "source/server/admin/admin.cc:300";

interface Reply {
  status: number;
  body: string;
  contentType?: string;
}

interface Param {
  id: string;
  help: string;
  /** an enum parameter's values */
  choices?: string[];
}

interface Handler {
  path: string;
  help: string;
  /** changes the server: POST only */
  mutates: boolean;
  params: Param[];
  handle(query: QueryParams, options: AdminOptions, response: ServerResponse): Reply;
}

/** Parameter help as Envoy words it. */
const USED_ONLY: Param = { id: "usedonly", help: "Only include stats that have been written by system since restart" };
const FILTER: Param = { id: "filter", help: "Regular expression (Google re2) for filtering stats" };

const HANDLERS: Handler[] = [
  {
    path: "/clusters",
    help: "upstream cluster status",
    mutates: false,
    params: [],
    handle: (_query, options) => ({ status: 200, body: renderClusters(options.clusters()) }),
  },
  {
    path: "/help",
    help: "print out list of admin commands",
    mutates: false,
    params: [],
    handle: () => ({ status: 200, body: helpText() }),
  },
  {
    path: "/listeners",
    help: "print listener info",
    mutates: false,
    params: [{ id: "format", help: "File format to use", choices: ["text", "json"] }],
    handle: (query, options) =>
      query.get("format") === "json"
        ? { status: 200, contentType: JSON_TYPE, body: renderListenersJson(options.listeners()) }
        : { status: 200, body: renderListenersText(options.listeners()) },
  },
  {
    path: "/logging",
    help: "query/change logging levels",
    mutates: true,
    params: [
      {
        id: "paths",
        help:
          "Change multiple logging levels by setting to <logger_name1>:<desired_level1>,<logger_name2>:<desired_level2>. " +
          "If fine grain logging is enabled, use __FILE__ or a glob experision as the logger name. For example, source/common*:warning",
      },
      {
        id: "level",
        help: "desired logging level, this will change all loggers's level",
        choices: ["", ...LOG_LEVELS.map((level) => SPDLOG_NAMES[level])],
      },
    ],
    handle: (query, options) => handleLogging(query, options.logger),
  },
  {
    path: "/quitquitquit",
    help: "exit the server",
    mutates: true,
    params: [],
    handle: (_query, options, response) => {
      response.on("finish", () => options.quit());
      return { status: 200, body: "OK\n" };
    },
  },
  {
    path: "/ready",
    help: "print server state, return 200 if LIVE, otherwise return 503",
    mutates: false,
    params: [],
    handle: (_query, options) => readyReply(options.server().state),
  },
  {
    path: "/server_info",
    help: "print server version/status information",
    mutates: false,
    params: [],
    handle: (_query, options) => ({ status: 200, contentType: JSON_TYPE, body: renderServerInfo(options.server()) }),
  },
  {
    path: "/stats",
    help: "print server stats",
    mutates: false,
    params: [
      USED_ONLY,
      FILTER,
      { id: "format", help: "Format to use", choices: ["text", "json"] },
      { id: "type", help: "Stat types to include.", choices: ["All", "Counters", "Histograms", "Gauges", "TextReadouts"] },
    ],
    handle: (query, options) => statsReply(query, options.stats, "text"),
  },
  {
    path: "/stats/prometheus",
    help: "print server stats in prometheus format",
    mutates: false,
    params: [USED_ONLY, FILTER],
    handle: (query, options) => statsReply(new Map([...query, ["format", "prometheus"]]), options.stats, "prometheus"),
  },
];

function statsReply(query: QueryParams, stats: AdminStatsStore, defaultFormat: StatsFormat): Reply {
  const parsed = parseStatsQuery(query, defaultFormat);
  if ("error" in parsed) return { status: 400, body: parsed.error };
  switch (parsed.format) {
    case "json":
      return { status: 200, contentType: JSON_TYPE, body: stats.renderJson(parsed.select) };
    case "prometheus":
      return { status: 200, contentType: PROMETHEUS, body: stats.renderPrometheus(parsed.select) };
    case "text":
      return { status: 200, body: stats.renderText(parsed.select) };
  }
}

/** Envoy's getHelp: the handlers sorted by path, `(POST)` on those that change the server. */
function helpText(): string {
  const lines = ["admin commands are:"];
  for (const handler of [...HANDLERS].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    lines.push(`  ${handler.path}${handler.mutates ? " (POST)" : ""}: ${handler.help}`);
    for (const param of handler.params) {
      lines.push(`      ${param.id}: ${param.help}${param.choices ? `; One of (${param.choices.join(", ")})` : ""}`);
    }
  }
  return lines.map((line) => line + "\n").join("");
}

export function createAdminServer(options: AdminOptions): Server {
  return createServer((request, response) => route(options, request, response));
}

function route(options: AdminOptions, request: IncomingMessage, response: ServerResponse): void {
  request.resume();
  const pathAndQuery = request.url ?? "/";
  const path = pathAndQuery.split("?")[0];
  const method = request.method ?? "GET";
  const handler = HANDLERS.find((candidate) => candidate.path === path);
  if (handler === undefined) return send(response, { status: 404, body: `invalid path. ${helpText()}` });
  if (handler.mutates && method !== "POST") {
    options.logger.log("admin", "error", ADMIN_SOURCE, `admin path "${handler.path}" mutates state, method=${method} rather than POST`, MAIN_THREAD);
    return send(response, { status: 405, body: `Method ${method} not allowed, POST required.` });
  }
  send(response, handler.handle(parseQuery(pathAndQuery), options, response));
}

function send(response: ServerResponse, reply: Reply): void {
  response.writeHead(reply.status, {
    "content-type": reply.contentType ?? TEXT,
    "content-length": Buffer.byteLength(reply.body),
    server: "envoy",
  });
  response.end(reply.body);
}
