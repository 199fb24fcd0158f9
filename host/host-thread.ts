// The local host as the command line runs it: on a worker thread of its own, so that a plugin
// callback that never returns stops only this thread, as a stuck worker in Envoy stops only itself
// (docs/envoy-host.md §17). Every VM, socket and admin request is served here; the main thread
// (supervisor.ts) handles signals and watches the calls this thread marks. Started by the
// supervisor only: it reads its options from workerData and talks over parentPort.

import { parentPort, workerData } from "node:worker_threads";
import { CallMarker, type MarkerNews } from "./call-marker.ts";
import { ConfigError, ConfigReadError } from "./config/load.ts";
import { createLogger, type AdjustableLogger } from "./log.ts";
import type { LogLevelName } from "./loggers.ts";
import { ListenError } from "./net/listener/listen.ts";
import { MissingPluginError, StoppedWhileStartingError, startLocalHost, type LocalHostOptions, type RunningHost } from "./local-host.ts";
import { writeStderrLine } from "./stderr.ts";
import { WatchdogStats, type WatchdogEvent } from "./watchdog-stats.ts";
import { MARKED_CALL_NAMES, PluginStartError } from "./wasm/api.ts";

/** What the supervisor gives the host thread (as workerData: plain data only). */
export interface HostThreadData {
  host: Omit<LocalHostOptions, "logger" | "traceWrite" | "callMarker">;
  level: LogLevelName;
  componentLevels: Record<string, LogLevelName>;
  /** the memory the VMs mark their calls in, read by the supervisor */
  marker: SharedArrayBuffer;
}

/** Messages from the supervisor. */
export type ToHostThread =
  /** a signal came: close the host, as Envoy does on SIGINT and SIGTERM */
  | { kind: "stop" }
  /** a call on this thread ran past a watchdog timeout: count it */
  | { kind: "watchdog"; event: WatchdogEvent; thread: number };

/** Messages to the supervisor. */
export type FromHostThread =
  /** what the call marks stand for */
  | { kind: "marker"; news: MarkerNews }
  /** admin /logging changed the levels: the supervisor's own lines follow them */
  | { kind: "levels"; levels: Array<[logger: string, level: LogLevelName]> };

const port = parentPort!;
const data = workerData as HostThreadData;
const tell = (message: FromHostThread) => port.postMessage(message);

/** The levels admin /logging changes, told to the supervisor too. */
function loggerTellingLevels(logger: AdjustableLogger): AdjustableLogger {
  const tellLevels = () => tell({ kind: "levels", levels: logger.levels() });
  return {
    ...logger,
    setLevel(name, level) {
      const known = logger.setLevel(name, level);
      if (known) tellLevels();
      return known;
    },
    setAllLevels(level) {
      logger.setAllLevels(level);
      tellLevels();
    },
  };
}

/** The one-line message of an error the user can fix, or undefined for a bug. */
function userError(error: unknown): string | undefined {
  const known = [ConfigError, ConfigReadError, ListenError, MissingPluginError, PluginStartError];
  if (known.some((kind) => error instanceof kind)) return (error as Error).message;
  if (error instanceof Error && "code" in error && error.code === "ENOENT" && "path" in error) {
    return `cannot read ${String(error.path)}: no such file`;
  }
  return undefined;
}

async function run(): Promise<number> {
  const logger = loggerTellingLevels(
    createLogger({ level: data.level, componentLevels: data.componentLevels, write: writeStderrLine, writeBytes: writeStderrLine }),
  );
  let host: RunningHost | undefined;
  // a stop asked for while the host starts gives up what its start waits for (code.remote)
  const stopWhileStarting = new AbortController();
  // Stalls reported before the host (and its stats) are up are counted once it is.
  const stalls: Array<{ event: WatchdogEvent; thread: number }> = [];
  let watchdogStats: WatchdogStats | undefined;
  port.on("message", (message: ToHostThread) => {
    if (message.kind === "stop") {
      stopWhileStarting.abort();
      if (host !== undefined) void host.close();
    } else if (watchdogStats === undefined) stalls.push(message);
    else watchdogStats.count(message.event, message.thread);
  });
  // The port alone does not keep the thread alive: it ends once the host has closed.
  port.unref();

  try {
    host = await startLocalHost({
      ...data.host,
      logger,
      traceWrite: writeStderrLine,
      callMarker: new CallMarker(data.marker, MARKED_CALL_NAMES, (news) => tell({ kind: "marker", news })),
      stop: stopWhileStarting.signal,
    });
  } catch (error) {
    if (error instanceof StoppedWhileStartingError) return 0;
    const message = userError(error);
    if (message === undefined) throw error;
    for (const line of message.split("\n")) writeStderrLine(`error: ${line}`);
    return 1;
  }
  watchdogStats = new WatchdogStats(host.stats, data.host.concurrency ?? 1);
  for (const { event, thread } of stalls) watchdogStats.count(event, thread);
  if (stopWhileStarting.signal.aborted) void host.close();
  await host.closed;
  return 0;
}

process.exitCode = await run();
