// Envoy's log levels, its named loggers, and the level names its admin and command line speak
// (spdlog's), as admin /logging lists and changes them (docs/envoy-host.md §14).

/**
 * Envoy's levels, least severe first. A level's index is its number in spdlog, in Envoy's
 * `--log-level` and in the proxy-wasm ABI (trace 0 .. critical 5, off 6).
 */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "critical", "off"] as const;

export type LogLevelName = (typeof LOG_LEVELS)[number];
/** A level a line can be printed at. */
export type LineLevel = Exclude<LogLevelName, "off">;

/**
 * Envoy's loggers in its registry order: ALL_LOGGER_IDS in source/common/common/logger.h (the
 * version read; a newer Envoy may add names). The local host logs on main, admin, config and wasm.
 */
export const ENVOY_LOGGERS: readonly string[] = [
  "admin", "alternate_protocols_cache", "aws", "assert", "backtrace", "basic_auth", "cache_filter",
  "client", "config", "connection", "conn_handler", "decompression", "dns", "dubbo", "envoy_bug",
  "ext_authz", "ext_proc", "rocketmq", "file", "filter", "forward_proxy", "geolocation", "grpc",
  "happy_eyeballs", "hc", "health_checker", "http", "http2", "hystrix", "init", "io", "jwt", "kafka",
  "key_value_store", "lua", "main", "matcher", "misc", "mongo", "multi_connection", "oauth2", "quic",
  "quic_stream", "pool", "rate_limit_quota", "rbac", "rds", "redis", "router", "runtime", "stats",
  "secret", "tap", "testing", "thrift", "tracing", "upstream", "udp", "wasm", "websocket", "golang",
];

/** spdlog's level names, in level order, as Envoy prints and accepts them (`warning`, not `warn`). */
export const SPDLOG_NAMES: Readonly<Record<LogLevelName, string>> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
  critical: "critical",
  off: "off",
};

/** The level of a spdlog name (`warning` → warn), or undefined. */
export function levelOfSpdlogName(name: string): LogLevelName | undefined {
  return LOG_LEVELS.find((level) => SPDLOG_NAMES[level] === name);
}

/** The level a name given on the command line means (spdlog's `warning`, or `warn`); undefined for none. */
export function logLevelNamed(name: string): LogLevelName | undefined {
  return LOG_LEVELS.find((level) => level === name || SPDLOG_NAMES[level] === name);
}

/** Every name logLevelNamed accepts, in order: `trace, debug, info, warn, warning, ...`. */
export function logLevelNames(): string[] {
  return LOG_LEVELS.flatMap((level) => (SPDLOG_NAMES[level] === level ? [level] : [level, SPDLOG_NAMES[level]]));
}
