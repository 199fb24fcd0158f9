// The host's log level, and whole-string log lines for the rare ones (configuration, errors).
// Per-connection lines are built as bytes with logline.ts, and only when the level shows them.

import { LogLevelValues } from "@solo-io/proxy-runtime/runtime";
import { getLogLevel, logBytes } from "./host";

/**
 * The lowest level the host prints now (Envoy's `wasm` logger; 6 when it is off; ABI 0.2.1
 * proxy_get_log_level). Ask again in every callback: the level can change at run time (Envoy's
 * admin /logging). A line at level L is printed when `logLevel() <= L`.
 */
export function logLevel(): LogLevelValues {
  return getLogLevel();
}

/** Logs `message` as one line at `level`, whatever the host's level (the host drops what it hides). */
export function log(level: LogLevelValues, message: string): void {
  const utf8 = String.UTF8.encode(message);
  logBytes(level, changetype<usize>(utf8), utf8.byteLength);
}
