// Admin /logging as Envoy's LogsHandler answers it (source/server/admin/logs_handler.cc,
// handlerLogging and changeLogLevel; docs/envoy-host.md §14): with no query, the loggers and
// their levels; `?level=<l>` sets every logger, `?<logger>=<l>` one, `?paths=<logger>:<l>,...`
// several, each change logged on the admin logger; a bad query is 400 with the error, the usage
// and the same listing.

import { MAIN_THREAD, type AdjustableLogger } from "../log.ts";
import { SPDLOG_NAMES, levelOfSpdlogName, type LogLevelName } from "../loggers.ts";
import type { QueryParams } from "./query.ts";

/** Where Envoy logs each change (the line numbers are those of the version read). */
const SOURCE = {
  all: "source/server/admin/logs_handler.cc:131",
  one: "source/server/admin/logs_handler.cc:164",
};

const USAGE = [
  "usage: /logging?<name>=<level> (change single level)",
  "usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)",
  "usage: /logging?level=<level> (change all levels)",
  `levels: ${Object.values(SPDLOG_NAMES).map((name) => `${name} `).join("")}`,
].map((line) => line + "\n").join("");

export interface LoggingReply {
  status: 200 | 400;
  body: string;
}

export function handleLogging(params: QueryParams, logger: AdjustableLogger): LoggingReply {
  let status: LoggingReply["status"] = 200;
  let body = "";
  if (params.size > 0) {
    const error = changeLogLevels(params, logger);
    if (error !== undefined) {
      status = 400;
      body += `error: ${error}\n\n${USAGE}`;
    }
  }
  body += "active loggers:\n";
  for (const [name, level] of logger.levels()) body += `  ${name}: ${SPDLOG_NAMES[level]}\n`;
  return { status, body: body + "\n" };
}

/** Applies the query's change; the error message when it is refused (then nothing changes). */
function changeLogLevels(params: QueryParams, logger: AdjustableLogger): string | undefined {
  if (params.size !== 1) return "invalid number of parameters";
  const [key, value] = [...params][0]!;
  if (key === "level") {
    const level = levelOfSpdlogName(value);
    if (level === undefined) return "unknown logger level";
    logger.log("admin", "info", SOURCE.all, `change all log levels: level='${SPDLOG_NAMES[level]}'`, MAIN_THREAD);
    logger.setAllLevels(level);
    return undefined;
  }
  const changes = new Map<string, LogLevelName>();
  if (key === "paths") {
    for (const pair of value.split(",").filter((entry) => entry.trim() !== "")) {
      const [name = "", level = ""] = splitOnce(pair, ":").filter((part) => part.trim() !== "");
      if (name === "" || level === "") return "empty logger name or empty logger level";
      const parsed = levelOfSpdlogName(level);
      if (parsed === undefined) return "unknown logger level";
      changes.set(name, parsed);
    }
  } else {
    const parsed = levelOfSpdlogName(value);
    if (parsed === undefined) return "unknown logger level";
    changes.set(key, parsed);
  }
  const known = new Set(logger.levels().map(([name]) => name));
  if ([...changes.keys()].some((name) => !known.has(name))) return "unknown logger name";
  // in the registry's order, as Envoy walks its loggers
  for (const [name] of logger.levels()) {
    const level = changes.get(name);
    if (level === undefined) continue;
    logger.log("admin", "info", SOURCE.one, `change log level: name='${name}' level='${SPDLOG_NAMES[level]}'`, MAIN_THREAD);
    logger.setLevel(name, level);
  }
  return undefined;
}

/** `a:b:c` → [`a`, `b:c`]; no separator → [`a`]. */
function splitOnce(text: string, separator: string): string[] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}
