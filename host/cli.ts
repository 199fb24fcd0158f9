// The local host's command line, in Envoy's spirit: `npx tsx host/cli.ts -c envoy/envoy.yaml`.
// Errors a user can fix print as one line on stderr and exit 1; Ctrl-C, SIGTERM and admin
// POST /quitquitquit stop it cleanly with exit 0.

import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { ConfigError, ConfigReadError } from "./config/load.ts";
import { createLogger, MAIN_THREAD, type Logger } from "./log.ts";
import { ENVOY_LOGGERS, logLevelNamed, logLevelNames, type LogLevelName } from "./loggers.ts";
import { ListenError } from "./net/listen.ts";
import { MissingPluginError, startLocalHost, type LocalHostOptions } from "./local-host.ts";
import { PluginStartError, type PropertyNames } from "./wasm/api.ts";

const HELP = `Usage: npx tsx host/cli.ts [options]

Runs the Envoy configuration's listeners, tcp_proxy, direct responses, admin and the wasm
network filter on this machine, without Envoy.

Options:
  -c, --config-path FILE         Envoy bootstrap (default envoy/envoy.yaml)
      --concurrency N            worker VMs per plugin (default $ENVOY_CONCURRENCY or 1)
  -l, --log-level LEVEL          trace, debug, info, warning, error, critical, off (default info)
      --component-log-level C:L  per component, e.g. wasm:debug,config:warning
      --trace                    print every call across the proxy-wasm ABI
      --plugin-folder DIR        where /etc/envoy/plugin/ is (default $FOLDER_PLUGIN or ./build)
      --bind ADDRESS             what 0.0.0.0 and :: listen on (default 127.0.0.1)
      --property-names current|legacy
                                 answer Envoy >= 1.33 property names (xds.*) or those of
                                 Envoy <= 1.24 (cluster_metadata, ...) (default current)
  -h, --help                     print this help
`;

const SIGNAL_SOURCE = "source/server/server.cc:1000";

/** A bad flag or flag value; the message is one line. */
class UsageError extends Error {
  override name = "UsageError";
}

interface CommandLine {
  help: boolean;
  host: Omit<LocalHostOptions, "logger">;
  level: LogLevelName;
  componentLevels: Record<string, LogLevelName>;
}

function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv): CommandLine {
  const { values } = parseArgs({
    args: argv,
    options: {
      "config-path": { type: "string", short: "c", default: "envoy/envoy.yaml" },
      concurrency: { type: "string", default: env.ENVOY_CONCURRENCY || "1" },
      "log-level": { type: "string", short: "l", default: "info" },
      "component-log-level": { type: "string", default: "" },
      trace: { type: "boolean", default: false },
      "plugin-folder": { type: "string", default: env.FOLDER_PLUGIN || "./build" },
      bind: { type: "string", default: "127.0.0.1" },
      "property-names": { type: "string", default: "current" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    help: values.help,
    level: logLevel(values["log-level"], "--log-level"),
    componentLevels: componentLevels(values["component-log-level"]),
    host: {
      logLevelOption: values["log-level"],
      componentLogLevelOption: values["component-log-level"],
      configPath: values["config-path"],
      pluginFolder: values["plugin-folder"],
      concurrency: concurrency(values.concurrency),
      trace: values.trace,
      bindAddress: bindAddress(values.bind),
      propertyNames: propertyNames(values["property-names"]),
    },
  };
}

function logLevel(value: string, flag: string): LogLevelName {
  const level = logLevelNamed(value);
  if (level === undefined) throw new UsageError(`${flag}: unknown level '${value}' (${logLevelNames().join(", ")})`);
  return level;
}

/** `wasm:debug,config:warning` */
function componentLevels(value: string): Record<string, LogLevelName> {
  const levels: Record<string, LogLevelName> = {};
  for (const pair of value.split(",").filter((entry) => entry !== "")) {
    const [component, level, ...rest] = pair.split(":");
    if (!component || level === undefined || rest.length > 0) {
      throw new UsageError(`--component-log-level: '${pair}' is not component:level`);
    }
    if (!ENVOY_LOGGERS.includes(component)) throw new UsageError(`--component-log-level: invalid component specified '${component}'`);
    levels[component] = logLevel(level, "--component-log-level");
  }
  return levels;
}

function concurrency(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`--concurrency: '${value}' is not a whole number of at least 1`);
  return count;
}

function bindAddress(value: string): string {
  if (isIP(value) === 0) throw new UsageError(`--bind: '${value}' is not an IP address`);
  return value;
}

function propertyNames(value: string): PropertyNames {
  if (value !== "current" && value !== "legacy") throw new UsageError(`--property-names: '${value}' is neither current nor legacy`);
  return value;
}

/** The one-line message of an error the user can fix, or undefined for a bug. */
function userError(error: unknown): string | undefined {
  const known = [UsageError, ConfigError, ConfigReadError, ListenError, MissingPluginError, PluginStartError];
  if (known.some((kind) => error instanceof kind)) return (error as Error).message;
  if (error instanceof Error && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
    // node's message goes on with a hint about positionals that does not apply here
    return `${error.message.split(". ")[0]} (see --help)`;
  }
  if (error instanceof Error && "code" in error && error.code === "ENOENT" && "path" in error) {
    return `cannot read ${String(error.path)}: no such file`;
  }
  return undefined;
}

function stopOnSignals(logger: Logger, stop: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    logger.log("main", "warn", SIGNAL_SOURCE, `caught ${signal === "SIGINT" ? "SIGINT" : "ENVOY_SIGTERM"}`, MAIN_THREAD);
    stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

async function main(): Promise<number> {
  try {
    const commandLine = parseCommandLine(process.argv.slice(2), process.env);
    if (commandLine.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const logger = createLogger({ level: commandLine.level, componentLevels: commandLine.componentLevels });
    const host = await startLocalHost({ ...commandLine.host, logger });
    const removeSignalHandlers = stopOnSignals(logger, () => void host.close());
    await host.closed;
    removeSignalHandlers();
    return 0;
  } catch (error) {
    const message = userError(error);
    if (message === undefined) throw error;
    for (const line of message.split("\n")) process.stderr.write(`error: ${line}\n`);
    return 1;
  }
}

process.exitCode = await main();
