// Host calls of the logging area (docs/envoy-host.md §7): a line on Envoy's `wasm` logger, and
// the logger's level, which ABI 0.2.1 lets a module ask for before it builds a line.

import { LOG_LEVELS, type LineLevel } from "../../loggers.ts";
import { V0_2_1, WasmResult, words } from "../abi.ts";
import { hostCall, NOTHING, Phase } from "../spec.ts";
import { u32 } from "../trace-values.ts";


/** The level a word names (trace 0 .. critical 5); undefined for off and for no level. */
function lineLevel(word: number): LineLevel | undefined {
  const level = LOG_LEVELS[word];
  return level === "off" ? undefined : level;
}

export const LOG_CALLS = [
  hostCall({
    name: "proxy_log",
    params: words(3),
    allowedIn: [Phase.Start, Phase.Malloc],
    call(host, level: number, ptr: number, size: number) {
      const name = lineLevel(level);
      if (name === undefined) return WasmResult.BadArgument;
      const message = host.memory.bytes(ptr, size);
      if (message === null) return WasmResult.InvalidMemoryAccess;
      host.context.log(name, message);
      return WasmResult.Ok;
    },
    describe([level], _result, host) {
      const name = lineLevel(level);
      return name === undefined ? NOTHING : { level: name, printed: host.context.logEnabled(name) };
    },
    text: ({ level, printed }) => (printed ? String(level) : `${level}, not printed`),
  }),
  hostCall({
    name: "proxy_get_log_level",
    params: words(1),
    versions: [V0_2_1],
    call(host, levelPtr: number) {
      return host.memory.writeU32(levelPtr, host.context.logLevel()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    describe: ([levelPtr], result, host) =>
      result === WasmResult.Ok ? { level: lineLevel(u32(host.memory, levelPtr)) ?? "off" } : NOTHING,
    text: ({ level }) => String(level),
  }),
];
