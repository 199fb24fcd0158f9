// Envoy's log lines: `[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v` (spdlog pattern), local time.

import type { Logger, LoggerOptions, LogLevelName } from "./wasm/api.ts";

const LEVEL_RANK: Record<LogLevelName, number> = {
  trace: 0,
  debug: 1,
  info: 2,
  warn: 3,
  error: 4,
  critical: 5,
  off: 6,
};

/** spdlog's names, which Envoy prints: `warning`, not `warn`. */
const PRINTED_LEVEL: Record<Exclude<LogLevelName, "off">, string> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
  critical: "critical",
};

export function createLogger(options: LoggerOptions): Logger {
  const defaultRank = LEVEL_RANK[options.level];
  const componentRanks = new Map<string, number>();
  for (const [component, level] of Object.entries(options.componentLevels)) {
    componentRanks.set(component, LEVEL_RANK[level]);
  }
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const now = options.now ?? Date.now;
  const timestamp = timestampCache();

  function enabled(component: string, level: LogLevelName): boolean {
    return LEVEL_RANK[level] >= (componentRanks.get(component) ?? defaultRank) && level !== "off";
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
