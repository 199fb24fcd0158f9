// Admin /ready and /server_info as Envoy's ServerInfoHandler answers them (handlerReady,
// handlerServerInfo, source/server/admin/server_info_handler.cc; docs/envoy-host.md §14).

import { readFileSync } from "node:fs";
import { protoJson } from "./proto-json.ts";

/** envoy.admin.v3.ServerInfo.State: INITIALIZING while the listeners are being bound, then LIVE. */
export type ServerState = "LIVE" | "DRAINING" | "PRE_INITIALIZING" | "INITIALIZING";

/** The command-line options the local host has of Envoy's CommandLineOptions. */
export interface CommandLineOptions {
  concurrency: number;
  config_path: string;
  log_level: string;
  component_log_level: string;
}

export interface ServerFacts {
  state: ServerState;
  /** Date.now() when the host started */
  startedAtMs: number;
  commandLine: CommandLineOptions;
}

const PACKAGE = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { name: string; version: string };

/** Envoy's version reads `<commit>/<version>/<Clean|Modified>/<RELEASE|DEBUG>/<TLS>`; this is not Envoy. */
const VERSION = `${PACKAGE.name}/${PACKAGE.version}/local-host`;

/** `LIVE` with 200; any other state with 503. */
export function readyReply(state: ServerState): { status: 200 | 503; body: string } {
  return { status: state === "LIVE" ? 200 : 503, body: `${state}\n` };
}

/**
 * envoy.admin.v3.ServerInfo in its field order. Left out: `node` (the local host keeps none) and
 * the command-line options it has no counterpart of; `hot_restart_version` is what an Envoy
 * without hot restart prints.
 */
export function renderServerInfo(facts: ServerFacts, nowMs = Date.now()): string {
  const uptime = `${Math.max(0, Math.floor((nowMs - facts.startedAtMs) / 1000))}s`;
  return protoJson({
    version: VERSION,
    state: facts.state,
    uptime_current_epoch: uptime,
    uptime_all_epochs: uptime,
    hot_restart_version: "disabled",
    command_line_options: { ...facts.commandLine },
  });
}
