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

  function enabled(component: string, level: LogLevelName): boolean {
    return LEVEL_RANK[level] >= (componentRanks.get(component) ?? defaultRank) && level !== "off";
  }

  return {
    enabled,
    log(component, level, source, message, thread) {
      if (!enabled(component, level)) return;
      write(`[${formatTimestamp(now())}][${thread}][${PRINTED_LEVEL[level]}][${component}] [${source}] ${message}`);
    },
  };
}

/** `2026-11-25 10:00:00.000` in local time, as Envoy prints it. */
export function formatTimestamp(epochMs: number): string {
  const t = new Date(epochMs);
  return (
    `${t.getFullYear()}-${pad(t.getMonth() + 1, 2)}-${pad(t.getDate(), 2)} ` +
    `${pad(t.getHours(), 2)}:${pad(t.getMinutes(), 2)}:${pad(t.getSeconds(), 2)}.${pad(t.getMilliseconds(), 3)}`
  );
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}
