// The --trace output: one line per call across the ABI. Each line has the raw words that cross
// it, then what they mean: the names behind the numbers, and the values the host wrote back,
// read again from module memory after the call. A VM builds none of this when tracing is off.

import { BufferType, MetricType, PeerType, StreamType, WasmLogLevel, WasmResult } from "./abi.ts";
import type { Logger, LogLevelName } from "../log.ts";
import type { WasmVm } from "./vm.ts";

/** Characters of a string shown before it is cut. */
const MAX_SHOWN = 60;

/** Callbacks whose return value is a network filter status (docs/envoy-host.md §3). */
const NETWORK_STATUS_CALLBACKS = new Set([
  "proxy_on_new_connection",
  "proxy_on_downstream_data",
  "proxy_on_upstream_data",
]);

export class Tracer {
  /** what the host call under way prints, held until its own trace line is out; null between host calls */
  private held: Array<() => void> | null = null;

  constructor(
    private readonly write: (line: string) => void,
    private readonly thread: number,
  ) {}

  /**
   * `[2] → proxy_on_downstream_data(2, 163, 0)  163 bytes`: the arguments the export declares,
   * then what the host passed.
   */
  callIn(name: string, args: number[], arity: number): void {
    const meaning = CALLBACKS[name]?.(args) ?? "";
    this.print(`[${this.thread}] → ${name}(${args.slice(0, arity).join(", ")})${detail(meaning)}`);
  }

  /** `[2] ← proxy_on_downstream_data = 0  Continue` */
  callOut(name: string, result: number | undefined): void {
    if (result === undefined) return this.print(`[${this.thread}] ← ${name}`);
    const meaning = NETWORK_STATUS_CALLBACKS.has(name) ? (result === 0 ? "Continue" : "StopIteration") : "";
    this.print(`[${this.thread}] ← ${name} = ${result}${detail(meaning)}`);
  }

  /**
   * Run a host call and trace it: `[2]   proxy_log(2, 9760, 49) → Ok  info`. What the call
   * prints meanwhile (Envoy log lines, nested calls through malloc) comes after that line, so
   * the trace reads as cause, then effect.
   */
  hostCall<R extends number | void>(
    vm: WasmVm,
    name: string,
    args: unknown[],
    label: (result: R) => string,
    call: () => R,
  ): R {
    const outer = this.held;
    const held: Array<() => void> = [];
    this.held = held;
    try {
      const result = call();
      const meaning = HOST_CALLS[name]?.(args as number[], result as number, vm) ?? "";
      const line = `[${this.thread}]   ${name}(${args.join(", ")}) → ${label(result)}${detail(meaning)}`;
      held.unshift(() => this.write(line));
      return result;
    } finally {
      this.held = outer;
      for (const output of held) this.output(output);
    }
  }

  /** The logger, with the lines printed during a host call held until that call's trace line. */
  holding(logger: Logger): Logger {
    return {
      enabled: (component, level) => logger.enabled(component, level),
      log: (component, level, source, message, thread) =>
        this.output(() => logger.log(component, level, source, message, thread)),
    };
  }

  private print(line: string): void {
    this.output(() => this.write(line));
  }

  private output(output: () => void): void {
    if (this.held === null) output();
    else this.held.push(output);
  }
}

// ---------------------------------------------------------------- callbacks into the module

const CALLBACKS: Record<string, (args: number[]) => string> = {
  proxy_on_context_create: ([id, root]) => (root === 0 ? `root context ${id}` : `connection context ${id} of root ${root}`),
  proxy_on_vm_start: ([, size]) => `vm configuration ${byteCount(size)}`,
  proxy_on_configure: ([, size]) => `plugin configuration ${byteCount(size)}`,
  proxy_on_downstream_data: ([, size, endOfStream]) => data(size, endOfStream),
  proxy_on_upstream_data: ([, size, endOfStream]) => data(size, endOfStream),
  proxy_on_downstream_connection_close: ([, peer]) => `peer ${PeerType[peer].toLowerCase()}`,
  proxy_on_upstream_connection_close: ([, peer]) => `peer ${PeerType[peer].toLowerCase()}`,
};

function data(size: number, endOfStream: number): string {
  return endOfStream ? `${byteCount(size)}, end of stream` : byteCount(size);
}

// ---------------------------------------------------------------- host calls

/** What a host call's words mean; `args` are as the module passed them (i32 signed, i64 as BigInt). */
type Describe = (args: number[], result: number, vm: WasmVm) => string;

const HOST_CALLS: Record<string, Describe> = {
  proxy_log([level], _result, vm) {
    const name = logLevel(level);
    if (name === undefined) return "";
    return vm.logger.enabled("wasm", name) ? name : `${name}, not printed`;
  },
  proxy_get_log_level: ([levelPtr], result, vm) => (result === WasmResult.Ok ? (logLevel(u32(vm, levelPtr)) ?? "off") : ""),

  proxy_get_buffer_status([type, lengthPtr], result, vm) {
    const name = bufferName(type);
    return result === WasmResult.Ok ? `${name} ${byteCount(u32(vm, lengthPtr))}` : name;
  },
  proxy_get_buffer_bytes([type, start, , , sizePtr], result, vm) {
    const name = bufferName(type);
    if (result !== WasmResult.Ok) return name;
    const size = u32(vm, sizePtr);
    return `${name}[${start >>> 0}..${(start >>> 0) + size}] ${byteCount(size)}`;
  },
  proxy_set_buffer_bytes([type, start, length, , size], result) {
    const name = bufferName(type);
    if (result !== WasmResult.Ok) return name;
    // Envoy's edit: start 0 replaces the first `length` bytes, any other start appends.
    return start === 0
      ? `${name}[0..${length >>> 0}] replaced with ${byteCount(size)}`
      : `${name} appended ${byteCount(size)}`;
  },

  proxy_get_property([pathPtr, pathSize, valuePtrPtr, valueSizePtr], result, vm) {
    const path = propertyPath(vm, pathPtr, pathSize);
    return result === WasmResult.Ok ? `${path} = ${value(vm, u32(vm, valuePtrPtr), u32(vm, valueSizePtr))}` : path;
  },
  proxy_set_property: ([pathPtr, pathSize, valuePtr, valueSize], _result, vm) =>
    `${propertyPath(vm, pathPtr, pathSize)} = ${value(vm, valuePtr, valueSize)}`,

  proxy_define_metric([type, namePtr, nameSize, idPtr], result, vm) {
    const metric = `${MetricType[type]?.toLowerCase() ?? `type ${type}`} ${text(vm, namePtr, nameSize)}`;
    return result === WasmResult.Ok ? `${metric} = id ${u32(vm, idPtr)}` : metric;
  },
  proxy_increment_metric([id, offset], _result, vm) {
    // i64 arguments arrive as BigInt
    const by = offset as unknown as bigint;
    return metricName(vm, id, (name) => (by < 0n ? `${name} -= ${-by}` : `${name} += ${by}`));
  },
  proxy_record_metric([id, recorded], _result, vm) {
    const value = BigInt.asUintN(64, recorded as unknown as bigint);
    return metricName(vm, id, (name, type) => {
      if (type === MetricType.Gauge) return `${name} = ${value}`;
      return type === MetricType.Counter ? `${name} += ${value}` : `${name} records ${value}`;
    });
  },
  proxy_get_metric: ([id, resultPtr], result, vm) =>
    metricName(vm, id, (name) => (result === WasmResult.Ok ? `${name} = ${u64(vm, resultPtr)}` : name)),

  proxy_set_effective_context: ([id]) => `context ${id}`,
  proxy_continue_stream: ([type]) => StreamType[type] ?? "",
  proxy_close_stream: ([type]) => StreamType[type] ?? "",
  proxy_set_tick_period_milliseconds: ([period]) => (period === 0 ? "no ticks" : `every ${period >>> 0} ms`),

  proxy_get_shared_data([keyPtr, keySize, valuePtrPtr, valueSizePtr, casPtr], result, vm) {
    const key = text(vm, keyPtr, keySize);
    if (result !== WasmResult.Ok) return key;
    return `${key} = ${value(vm, u32(vm, valuePtrPtr), u32(vm, valueSizePtr))}, cas ${u32(vm, casPtr)}`;
  },
  proxy_set_shared_data: ([keyPtr, keySize, valuePtr, valueSize], _result, vm) =>
    `${text(vm, keyPtr, keySize)} = ${value(vm, valuePtr, valueSize)}`,

  fd_write([fd, , , writtenPtr], result, vm) {
    const stream = fd === 1 ? "stdout" : fd === 2 ? "stderr" : "";
    return result === 0 ? `${stream} ${byteCount(u32(vm, writtenPtr))}` : stream;
  },
};

/** trace .. critical, as the logger names them; undefined for a number that is no level. */
function logLevel(level: number): Exclude<LogLevelName, "off"> | undefined {
  return WasmLogLevel[level]?.toLowerCase() as Exclude<LogLevelName, "off"> | undefined;
}

function bufferName(type: number): string {
  return BufferType[type] ?? "";
}

/** The metric's name as the module defined it (the stat without Envoy's `wasmcustom.`); "" for an unknown id. */
function metricName(vm: WasmVm, id: number, show: (name: string, type: MetricType) => string): string {
  const metric = vm.metrics.get(id);
  return metric === undefined ? "" : show(escape(metric.statName.slice(metric.statName.indexOf(".") + 1)), metric.type);
}

/** A property path as segments joined by dots (the module joins them with NUL). */
function propertyPath(vm: WasmVm, ptr: number, size: number): string {
  const path = vm.memory.string(ptr, size);
  return path === null ? "" : escape(path.replace(/\0$/, "").replaceAll("\0", "."));
}

// ---------------------------------------------------------------- values read back

function u32(vm: WasmVm, ptr: number): number {
  const bytes = vm.memory.bytes(ptr, 4);
  return bytes === null ? 0 : new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
}

function u64(vm: WasmVm, ptr: number): bigint {
  const bytes = vm.memory.bytes(ptr, 8);
  return bytes === null ? 0n : new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

function text(vm: WasmVm, ptr: number, size: number): string {
  return escape(vm.memory.string(ptr, size) ?? "");
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
/** Controls other than tab, newline and carriage return: bytes that make a value binary. */
const BINARY_CONTROL = /[\0-\x08\x0b\x0c\x0e-\x1f\x7f]/;

/**
 * A property or shared value, told by its bytes (docs/envoy-host.md §5): a pairs map as
 * `pairs{n}`, text quoted, 8 bytes as an integer (or, when no plausible integer, a double),
 * one byte 0 or 1 as a bool, anything else (protobuf messages) as `bytes{n}`.
 */
function value(vm: WasmVm, ptr: number, size: number): string {
  const bytes = vm.memory.bytes(ptr, size);
  if (bytes === null) return "";
  const pairs = pairsCount(bytes);
  if (pairs !== null) return `pairs{${pairs}}`;
  const decoded = utf8(bytes);
  if (decoded !== null && !BINARY_CONTROL.test(decoded)) return `"${escape(decoded)}"`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (bytes.length === 8) {
    const integer = view.getBigInt64(0, true);
    const safe = integer >= BigInt(Number.MIN_SAFE_INTEGER) && integer <= BigInt(Number.MAX_SAFE_INTEGER);
    return safe ? String(integer) : String(view.getFloat64(0, true));
  }
  if (bytes.length === 1 && bytes[0] <= 1) return bytes[0] === 1 ? "true" : "false";
  return `bytes{${bytes.length}}`;
}

function utf8(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** The entry count when the bytes are exactly a pairs encoding, else null. */
function pairsCount(bytes: Uint8Array): number | null {
  if (bytes.length < 4) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const count = view.getUint32(0, true);
  let at = 4 + 8 * count;
  if (at > bytes.length) return null;
  for (let i = 0; i < count; i++) {
    for (const size of [view.getUint32(4 + 8 * i, true), view.getUint32(8 + 8 * i, true)]) {
      at += size;
      if (at >= bytes.length || bytes[at] !== 0) return null;
      at += 1;
    }
  }
  return at === bytes.length ? count : null;
}

// ---------------------------------------------------------------- text

/**
 * Text as a trace line shows it: cut after MAX_SHOWN characters (`…(+N)` tells how many more),
 * backslash, quote, control and format characters escaped, so that no module byte can act on
 * the terminal.
 */
function escape(text: string): string {
  const characters = [...text];
  const shown = characters.length > MAX_SHOWN ? characters.slice(0, MAX_SHOWN).join("") : text;
  const escaped = shown.replace(/[\\"\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, escapeCharacter);
  return characters.length > MAX_SHOWN ? `${escaped}…(+${characters.length - MAX_SHOWN})` : escaped;
}

function escapeCharacter(character: string): string {
  switch (character) {
    case "\\":
    case '"':
      return "\\" + character;
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
  }
  const code = character.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
}

function byteCount(size: number): string {
  return size === 1 ? "1 byte" : `${size} bytes`;
}

function detail(meaning: string): string {
  return meaning === "" ? "" : `  ${meaning}`;
}
