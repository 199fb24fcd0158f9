// The command line's main thread: it runs the local host on a thread of its own (host-thread.ts)
// and stays free while that thread works, to do what Envoy's main thread and guard dog do when a
// worker is stuck (docs/envoy-host.md §17): say which plugin callback does not return, count the
// watchdog's stats, and end the process on Ctrl-C or SIGTERM whatever the host thread is doing.

import { Worker } from "node:worker_threads";
import { CALL_MARKER_BYTES, CallReader, type CallUnderWay } from "./call-marker.ts";
import type { FromHostThread, HostThreadData, ToHostThread } from "./host-thread.ts";
import { createLogger, MAIN_THREAD, type AdjustableLogger } from "./log.ts";
import { writeStderrLine } from "./stderr.ts";
import { CHECK_INTERVAL_MS, describeCall, seconds, Watchdog, type StallReport } from "./watchdog.ts";

/** Where Envoy logs the signals it catches and its shutdown (source/server/server.cc). */
const SIGNAL_SOURCE = "source/server/server.cc:1000";
/** The local host's own source, for the lines Envoy has no equivalent for. */
const WATCHDOG_SOURCE = "host/watchdog.ts";
const SUPERVISOR_SOURCE = "host/supervisor.ts";

/** How long the host thread has to close after a signal before it is ended as it is. */
export const SHUTDOWN_GRACE_MS = 1000;

/** Exit codes of a host thread ended without its clean shutdown: 128 + the signal's number, as a shell reports it. */
const SIGNAL_EXIT_CODES: Record<"SIGINT" | "SIGTERM", number> = { SIGINT: 130, SIGTERM: 143 };

/** Run the host thread to its end; the process's exit code. */
export function superviseHost(data: Omit<HostThreadData, "marker">): Promise<number> {
  const marker = new SharedArrayBuffer(CALL_MARKER_BYTES);
  const reader = new CallReader(marker);
  const logger = createLogger({ level: data.level, componentLevels: data.componentLevels, write: writeStderrLine });
  const thread = startHostThread({ ...data, marker });
  const send = (message: ToHostThread) => thread.postMessage(message);

  const watchdog = new Watchdog(reader, stallReport(logger, send));
  const checks = setInterval(() => watchdog.check(), CHECK_INTERVAL_MS);
  checks.unref();

  return new Promise((resolve, reject) => {
    let signalled: "SIGINT" | "SIGTERM" | undefined;
    let grace: NodeJS.Timeout | undefined;
    let ended = false;

    /** End the host thread as it is: it did not close within the grace period. */
    const endNow = (signal: "SIGINT" | "SIGTERM") => {
      if (ended) return;
      ended = true;
      const underWay = watchdog.underWay();
      const stuck = underWay === null ? "" : `: ${describeCall(underWay.call)} has run for ${seconds(underWay.runningMs)}`;
      logger.log("main", "error", SUPERVISOR_SOURCE, `the host did not stop within ${seconds(SHUTDOWN_GRACE_MS)}${stuck}; ending it without a clean shutdown`, MAIN_THREAD);
      void thread.terminate().then(() => finish(SIGNAL_EXIT_CODES[signal]));
    };

    const onSignal = (signal: "SIGINT" | "SIGTERM") => {
      logger.log("main", "warn", SIGNAL_SOURCE, `caught ${signal === "SIGINT" ? "SIGINT" : "ENVOY_SIGTERM"}`, MAIN_THREAD);
      // Envoy logs every signal and shuts down once. One Ctrl-C can arrive twice (from the
      // terminal, and passed on by a wrapper such as tsx): a repeat does not cut the grace short.
      if (signalled !== undefined) return;
      signalled = signal;
      send({ kind: "stop" });
      grace = setTimeout(() => endNow(signal), SHUTDOWN_GRACE_MS);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);

    const finish = (code: number, error?: Error) => {
      clearInterval(checks);
      clearTimeout(grace);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (error === undefined) resolve(code);
      else reject(error);
    };

    thread.on("message", (message: FromHostThread) => {
      if (message.kind === "marker") reader.hear(message.news);
      else for (const [name, level] of message.levels) logger.setLevel(name, level);
    });
    // A bug in the host: its error, with its stack, as an uncaught error would print it.
    thread.on("error", (error) => {
      if (!ended) finish(1, error);
      ended = true;
    });
    thread.on("exit", (code) => {
      if (!ended) finish(code);
      ended = true;
    });
  });
}

/** The watchdog's findings: lines for the calls that stop the host, counts on the host thread. */
function stallReport(logger: AdjustableLogger, send: (message: ToHostThread) => void): StallReport {
  const count = (event: "miss" | "megamiss", call: CallUnderWay) => {
    if (call.vm !== undefined) send({ kind: "watchdog", event, thread: call.vm.thread });
  };
  return {
    miss: (call) => count("miss", call),
    megamiss(call, runningMs) {
      count("megamiss", call);
      logger.log(
        "main",
        "error",
        WATCHDOG_SOURCE,
        `${describeCall(call)} has not returned for ${seconds(runningMs)}: the host is stopped until it does ` +
          "(admin, every listener and connection); Ctrl-C or SIGTERM ends it",
        MAIN_THREAD,
      );
    },
    returned(call, runningMs) {
      logger.log("main", "warn", WATCHDOG_SOURCE, `${describeCall(call)} returned after ${seconds(runningMs)}`, MAIN_THREAD);
    },
  };
}

/**
 * host-thread.ts on a worker thread. A worker cannot be started from a .ts file directly, even
 * with tsx in its execArgv: it registers tsx itself, then imports the file.
 */
function startHostThread(data: HostThreadData): Worker {
  const tsx = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./host-thread.ts", import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}
