// Envoy's log levels and log lines: `[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v` (spdlog pattern),
// local time. A process service: the wasm side, the network side and the command line all log here.

/**
 * Envoy's levels, least severe first. A level's index is its number in spdlog, in Envoy's
 * `--log-level` and in the proxy-wasm ABI (trace 0 .. critical 5, off 6).
 */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "critical", "off"] as const;

export type LogLevelName = (typeof LOG_LEVELS)[number];
/** A level a line can be printed at. */
export type LineLevel = Exclude<LogLevelName, "off">;

/** Envoy's main thread, whose id its log lines print as 1 in its container. */
export const MAIN_THREAD = 1;

export interface Logger {
  /** true when a line of this level on this component would be printed */
  enabled(component: string, level: LogLevelName): boolean;
  /**
   * Print one line in Envoy's format:
   * `[2026-11-25 10:00:00.000][<thread>][<level>][<component>] [<source>] <message>`
   * `source` is Envoy's `file:line`, e.g. `source/extensions/common/wasm/context.cc:1195`.
   */
  log(component: string, level: LineLevel, source: string, message: string, thread: number): void;
}

export interface LoggerOptions {
  /** -l / --log-level: the level of every component not named in componentLevels */
  level: LogLevelName;
  /** --component-log-level wasm:debug,... */
  componentLevels: Record<string, LogLevelName>;
  /** where lines go; defaults to process.stderr (Envoy logs to stderr) */
  write?: (line: string) => void;
  /** clock for the timestamp; defaults to Date.now */
  now?: () => number;
}

/** A level's index in LOG_LEVELS, looked up once per line: a record costs less than indexOf. */
const RANK = Object.fromEntries(LOG_LEVELS.map((level, rank) => [level, rank])) as Record<LogLevelName, number>;

/** spdlog's names, which Envoy prints and accepts: `warning`, not `warn`. */
const PRINTED_LEVEL: Record<LogLevelName, string> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
  critical: "critical",
  off: "off",
};

/** The level a name given on the command line means (`warning` or `warn`); undefined for none. */
export function logLevelNamed(name: string): LogLevelName | undefined {
  return LOG_LEVELS.find((level) => level === name || PRINTED_LEVEL[level] === name);
}

/** Every name logLevelNamed accepts, in order: `trace, debug, info, warn, warning, ...`. */
export function logLevelNames(): string[] {
  return LOG_LEVELS.flatMap((level) => (PRINTED_LEVEL[level] === level ? [level] : [level, PRINTED_LEVEL[level]]));
}

export function createLogger(options: LoggerOptions): Logger {
  const defaultRank = RANK[options.level];
  const componentRanks = new Map<string, number>();
  for (const [component, level] of Object.entries(options.componentLevels)) {
    componentRanks.set(component, RANK[level]);
  }
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const now = options.now ?? Date.now;
  const timestamp = timestampCache();

  function enabled(component: string, level: LogLevelName): boolean {
    return RANK[level] >= (componentRanks.get(component) ?? defaultRank) && level !== "off";
  }

  return {
    enabled,
    log(component, level, source, message, thread) {
      if (!enabled(component, level)) return;
      write(`[${timestamp(now())}][${thread}][${PRINTED_LEVEL[level]}][${component}] [${source}] ${message}`);
    },
  };
}

/** The most a Date holds (ECMAScript's TimeClip): beyond it the Date is invalid. */
const MAX_DATE_MS = 8.64e15;

/** `000` to `999`: the millisecond part of a timestamp. */
const MILLISECONDS = Array.from({ length: 1000 }, (_, ms) => pad(ms, 3));

/**
 * formatTimestamp, with the date and time formatted once per second: a busy logger prints many
 * lines per second, and local time changes only on whole seconds (time zone offsets are whole
 * seconds), so within a second only the milliseconds differ.
 */
function timestampCache(): (epochMs: number) => string {
  let second = NaN;
  let secondText = "";
  return (epochMs) => {
    if (!Number.isInteger(epochMs) || Math.abs(epochMs) > MAX_DATE_MS) return formatTimestamp(epochMs);
    const s = Math.floor(epochMs / 1000);
    if (s !== second) {
      second = s;
      secondText = formatTimestamp(s * 1000).slice(0, -3);
    }
    return secondText + MILLISECONDS[epochMs - s * 1000];
  };
}

/** `2026-11-25 10:00:00.000` in local time, as Envoy prints it. */
function formatTimestamp(epochMs: number): string {
  const t = new Date(epochMs);
  return (
    `${t.getFullYear()}-${pad(t.getMonth() + 1, 2)}-${pad(t.getDate(), 2)} ` +
    `${pad(t.getHours(), 2)}:${pad(t.getMinutes(), 2)}:${pad(t.getSeconds(), 2)}.${pad(t.getMilliseconds(), 3)}`
  );
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}
