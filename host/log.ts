// Envoy's log lines: `[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v` (spdlog pattern), local time.
// Each of Envoy's loggers has its own level, which admin /logging can change while the host runs.
// A process service: the wasm side, the network side and the command line all log here.

import { ENVOY_LOGGERS, LOG_LEVELS, SPDLOG_NAMES, type LineLevel, type LogLevelName } from "./loggers.ts";

/** Envoy's main thread, whose id its log lines print as 1 in its container. */
export const MAIN_THREAD = 1;

/** The thread number the lines of worker `index` print: the workers come after the main thread. */
export function workerThread(index: number): number {
  return MAIN_THREAD + 1 + index;
}

export interface Logger {
  /** true when a line of this level on this component would be printed */
  enabled(component: string, level: LogLevelName): boolean;
  /**
   * Print one line in Envoy's format:
   * `[2026-11-25 10:00:00.000][<thread>][<level>][<component>] [<source>] <message>`
   * `source` is Envoy's `file:line`, e.g. `source/extensions/common/wasm/context.cc:1151`.
   * A message given as bytes is written as those bytes, as Envoy writes a module's message
   * whether or not it is UTF-8.
   */
  log(component: string, level: LineLevel, source: string, message: string | Uint8Array, thread: number): void;
}

export interface LoggerOptions {
  /** -l / --log-level: the level of every component not named in componentLevels */
  level: LogLevelName;
  /** --component-log-level wasm:debug,... */
  componentLevels: Record<string, LogLevelName>;
  /** where lines go, without their newline; defaults to process.stderr (Envoy logs to stderr) */
  write?: (line: string) => void;
  /**
   * where a line whose message was given as bytes goes; defaults to process.stderr, or, when
   * only `write` is given, to `write` with the bytes decoded (invalid UTF-8 shown as U+FFFD)
   */
  writeBytes?: (line: Uint8Array) => void;
  /** clock for the timestamp; defaults to Date.now */
  now?: () => number;
}

/** A Logger whose levels can be read and changed per logger, as Envoy's registry can. */
export interface AdjustableLogger extends Logger {
  /** Envoy's loggers with their current levels, in registry order */
  levels(): Array<[logger: string, level: LogLevelName]>;
  /** false when Envoy has no logger of that name */
  setLevel(logger: string, level: LogLevelName): boolean;
  setAllLevels(level: LogLevelName): void;
}

/** A level's index in LOG_LEVELS, looked up once per line: a record costs less than indexOf. */
const RANK = Object.fromEntries(LOG_LEVELS.map((level, rank) => [level, rank])) as Record<LogLevelName, number>;

export function createLogger(options: LoggerOptions): AdjustableLogger {
  // every Envoy logger at the default level, then the per-component ones
  const levels = new Map<string, LogLevelName>(ENVOY_LOGGERS.map((logger) => [logger, options.level]));
  for (const [component, level] of Object.entries(options.componentLevels)) levels.set(component, level);
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const writeBytes = options.writeBytes ?? (options.write ? (line: Uint8Array) => write(lossyText.decode(line)) : writeStderrBytes);
  const now = options.now ?? Date.now;
  const timestamp = timestampCache();

  function enabled(component: string, level: LogLevelName): boolean {
    return level !== "off" && RANK[level] >= RANK[levels.get(component) ?? options.level];
  }

  return {
    enabled,
    log(component, level, source, message, thread) {
      if (!enabled(component, level)) return;
      const head = `[${timestamp(now())}][${thread}][${SPDLOG_NAMES[level]}][${component}] [${source}] `;
      if (typeof message === "string") write(head + message);
      else writeBytes(Buffer.concat([Buffer.from(head), message]));
    },
    levels: () => ENVOY_LOGGERS.map((logger) => [logger, levels.get(logger)!]),
    setLevel(logger, level) {
      if (!ENVOY_LOGGERS.includes(logger)) return false;
      levels.set(logger, level);
      return true;
    },
    setAllLevels(level) {
      for (const logger of levels.keys()) levels.set(logger, level);
    },
  };
}

const lossyText = new TextDecoder();
const NEWLINE = Buffer.from("\n");

function writeStderrBytes(line: Uint8Array): void {
  process.stderr.write(Buffer.concat([line, NEWLINE]));
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
