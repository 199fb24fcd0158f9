// The local host's command line, in Envoy's spirit: `npx tsx host/cli.ts -c envoy/envoy.yaml`.
// Errors a user can fix print as one line on stderr and exit 1; Ctrl-C, SIGTERM and admin
// POST /quitquitquit stop it cleanly with exit 0. The host runs on a thread of its own, watched
// from this one (supervisor.ts): a plugin callback that does not return is named, and Ctrl-C or
// SIGTERM still end the process, with exit code 130 or 143 when the host could not close.

import { isIP } from "node:net";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { HostThreadData } from "./host-thread.ts";
import { ENVOY_LOGGERS, logLevelNamed, logLevelNames, type LogLevelName } from "./loggers.ts";
import { superviseHost } from "./supervisor.ts";
import type { PropertyNames } from "./wasm/api.ts";

/**
 * The most worker VMs per plugin. Each VM's Wasm memory takes 10 GiB of address space (V8's
 * reservation with its guard regions, measured on x64), and a process has 128 TiB: about 12,000
 * VMs in all, for every plugin together; past that V8 runs out of memory. Envoy sets no bound
 * (--concurrency is a uint32, 0 taken as 1, source/server/options_impl.cc) and starts one worker
 * thread each (ListenerManagerImpl); 1024 is beyond the hardware threads of the machines Envoy
 * runs on, and leaves room for ten plugins.
 */
const MAX_CONCURRENCY = 1024;

const HELP = `Usage: npx tsx host/cli.ts [options]

Runs the Envoy configuration's listeners, tcp_proxy, direct responses, admin and the wasm
network filter on this machine, without Envoy.

Options:
  -c, --config-path FILE         Envoy bootstrap (default envoy/envoy.yaml)
      --concurrency N            worker VMs per plugin, 1 to ${MAX_CONCURRENCY} (default $ENVOY_CONCURRENCY
                                 or 1): each VM reserves 10 GiB of address space, and the
                                 128 TiB of a process hold about 12,000 for all plugins
  -l, --log-level LEVEL          trace, debug, info, warning, error, critical, off (default info)
      --component-log-level C:L  per component, e.g. wasm:debug,config:warning
      --trace                    print every call across the proxy-wasm ABI
      --plugin-folder DIR        where /etc/envoy/plugin/ is (default $FOLDER_PLUGIN or ./build)
      --bind ADDRESS             what 0.0.0.0 and :: listen on (default 127.0.0.1)
      --property-names current|legacy
                                 answer Envoy >= 1.33 property names (xds.*) or those of
                                 Envoy <= 1.24 (cluster_metadata, ...) (default current)
  -h, --help                     print this help

Exit status: 0 once stopped by Ctrl-C, SIGTERM or admin POST /quitquitquit; 1 for an error in
the options, the config or a plugin; 130 (Ctrl-C) or 143 (SIGTERM) when the host was stuck in a
plugin callback and had to be ended without its clean shutdown.
`;

/** A bad flag or flag value; the message is one line. */
class UsageError extends Error {
  override name = "UsageError";
}

interface CommandLine extends Omit<HostThreadData, "marker"> {
  help: boolean;
}

function options(env: NodeJS.ProcessEnv) {
  return {
    "config-path": { type: "string", short: "c", default: "envoy/envoy.yaml" },
    concurrency: { type: "string", default: env.ENVOY_CONCURRENCY || "1" },
    "log-level": { type: "string", short: "l", default: "info" },
    "component-log-level": { type: "string", default: "" },
    trace: { type: "boolean", default: false },
    "plugin-folder": { type: "string", default: env.FOLDER_PLUGIN || "./build" },
    bind: { type: "string", default: "127.0.0.1" },
    "property-names": { type: "string", default: "current" },
    help: { type: "boolean", short: "h", default: false },
  } as const satisfies ParseArgsConfig["options"];
}

function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv): CommandLine {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: options(env), strict: true, allowPositionals: false }));
  } catch (error) {
    throw parseArgsError(error, argv);
  }
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
  if (count > MAX_CONCURRENCY) {
    throw new UsageError(
      `--concurrency: ${value} is more than ${MAX_CONCURRENCY} worker VMs per plugin (each VM reserves 10 GiB of address space; a process holds about 12,000)`,
    );
  }
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

/**
 * node's parseArgs error as one line naming the flag. Its message can run over several lines
 * (a value that starts with '-') or go on with a hint about positionals that does not apply.
 */
function parseArgsError(error: unknown, argv: string[]): unknown {
  if (!(error instanceof Error && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS"))) return error;
  const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec(error.message);
  if (ambiguous !== null) {
    const flag = ambiguous[1];
    const value = argv[argv.indexOf(flag) + 1];
    const name = flag.startsWith("--") ? flag : `--${longName(flag.slice(1))}`;
    return new UsageError(`${flag}: '${value}' is taken for an option, not a value; a value that starts with '-' is written ${name}=${value}`);
  }
  return new UsageError(`${error.message.split("\n")[0].split(". ")[0]} (see --help)`);
}

/** The long name of a short flag: `c` → `config-path`. */
function longName(short: string): string {
  return Object.entries(options({})).find(([, option]) => "short" in option && option.short === short)?.[0] ?? short;
}

async function main(): Promise<number> {
  try {
    const commandLine = parseCommandLine(process.argv.slice(2), process.env);
    if (commandLine.help) {
      process.stdout.write(HELP);
      return 0;
    }
    return await superviseHost(commandLine);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    return 1;
  }
}

process.exitCode = await main();
