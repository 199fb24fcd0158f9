// The host functions a module imports (docs/envoy-host.md §1, §4–7), answering as Envoy does for a
// network filter. Calls that only make sense in an HTTP stream answer BadArgument (no header map
// or local reply on a TCP connection); calls the local host does not implement answer
// Unimplemented.

import { randomFillSync } from "node:crypto";
import { BufferType, MetricType, StreamType, WasmLogLevel, WasmResult } from "./abi.ts";
import type { LogLevelName } from "../log.ts";
import { concatBytes, EMPTY_BYTES } from "./bytes.ts";
import type { Context } from "./contexts.ts";
import { envFunctionNames, WASI_FUNCTIONS, WASI_MODULES, type AbiVersion } from "./module.ts";
import { readProperty } from "./properties.ts";
import type { WasmVm } from "./vm.ts";

/** Where Envoy's wasm Context logs (proxy_log, fd_write, proc_exit). */
const CONTEXT_SOURCE = "source/extensions/common/wasm/context.cc:1195";

const LOG_LEVELS: Array<Exclude<LogLevelName, "off">> = ["trace", "debug", "info", "warn", "error", "critical"];

// The host calls allowed while proxy-wasm-cpp-host restricts a module (docs/envoy-host.md §1,
// cpp-host HEAD): any other traps with "restricted_callback". cpp-host names them module-qualified;
// a WASI name counts under both WASI modules, and no `env` name is also a WASI name, so bare names
// say the same. The lists are cpp-host's whole, names this host does not register included.

/** During `_initialize`/`main`/`_start` (cpp-host `WasmBase::startVm`). */
export const ALLOWED_DURING_START: ReadonlySet<string> = new Set([
  "emscripten_notify_memory_growth",
  "proxy_log",
  "fd_write",
  "args_sizes_get",
  "args_get",
  "environ_sizes_get",
  "environ_get",
  "clock_time_get",
  "clock_res_get",
  "random_get",
  "poll_oneoff",
  "fd_fdstat_get",
  "fd_fdstat_set_flags",
  "fd_advise",
  "fd_allocate",
  "fd_datasync",
  "fd_fdstat_set_rights",
  "fd_filestat_get",
  "fd_filestat_set_size",
  "fd_filestat_set_times",
  "fd_pread",
  "fd_prestat_dir_name",
  "fd_prestat_get",
  "fd_pwrite",
  "fd_readdir",
  "fd_renumber",
  "fd_sync",
  "fd_tell",
  "path_create_directory",
  "path_filestat_get",
  "path_filestat_set_times",
  "path_link",
  "path_readlink",
  "path_remove_directory",
  "path_rename",
  "path_symlink",
  "path_unlink_file",
  "sock_accept",
  "sock_recv",
  "sock_send",
  "sock_shutdown",
]);

/** Inside `malloc`/`proxy_on_memory_allocate` (cpp-host `WasmBase::allocMemory`). */
export const ALLOWED_IN_MALLOC: ReadonlySet<string> = new Set(["proxy_log", "fd_write", "clock_time_get", "poll_oneoff"]);

/**
 * During instantiation (the start section): nothing, though cpp-host restricts nothing then. No
 * context is current, and Envoy's host functions would dereference none (§1).
 */
export const ALLOWED_DURING_INSTANTIATION: ReadonlySet<string> = new Set();

const WASI_SUCCESS = 0;
const WASI_EBADF = 8;
const WASI_EINVAL = 28;
const WASI_ENOSYS = 52;

const decoder = new TextDecoder();

type HostFunction = (...args: never[]) => number | void;

export function createImports(vm: WasmVm, abiVersion: AbiVersion): WebAssembly.Imports {
  const env = envFunctions(vm);
  const envImports: Record<string, HostFunction> = {};
  for (const name of envFunctionNames(abiVersion)) {
    envImports[name] = wrap(vm, name, env[name] ?? unimplemented, (r) => WasmResult[r as number] ?? String(r));
  }
  const imports: WebAssembly.Imports = { env: envImports };
  for (const module of WASI_MODULES) {
    const wasi = wasiFunctions(vm, module);
    const wasiImports: Record<string, HostFunction> = {};
    for (const name of WASI_FUNCTIONS) wasiImports[name] = wrap(vm, name, wasi[name] ?? noSys, String);
    imports[module] = wasiImports;
  }
  return imports;
}

function unimplemented(): number {
  return WasmResult.Unimplemented;
}

function noSys(): number {
  return WASI_ENOSYS;
}

/** Enforce the restricted phases, and trace the call when tracing is on. */
function wrap(vm: WasmVm, name: string, fn: HostFunction, label: (result: number | void) => string): HostFunction {
  const call = fn as (...args: unknown[]) => number | void;
  // Fixed arity: no arguments array per call (the implemented calls take at most six words).
  const guarded = (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown) => {
    if (vm.allowedCalls !== null && !vm.allowedCalls.has(name)) throw new Error("restricted_callback");
    return call(a, b, c, d, e, f);
  };
  const trace = vm.trace;
  if (trace === null) return guarded;
  return (...args: unknown[]) =>
    trace.hostCall(vm, name, args, label, () => guarded(args[0], args[1], args[2], args[3], args[4], args[5]));
}

function envFunctions(vm: WasmVm): Record<string, HostFunction> {
  const memory = () => vm.memory;

  function log(context: Context | null, level: Exclude<LogLevelName, "off">, message: string): void {
    const prefix = context?.kind === "connection" ? vm.connectionLogPrefix : vm.rootLogPrefix;
    vm.logger.log("wasm", level, CONTEXT_SOURCE, `${prefix}: ${message}`, vm.thread);
  }

  /** The buffer a get call reads; null answers NotFound. Network data is empty outside its callback. */
  function readableBuffer(type: number): Uint8Array | null {
    const context = vm.effective;
    switch (type) {
      case BufferType.NetworkDownstreamData:
        return (context?.kind === "connection" && context.downstreamData) || EMPTY_BYTES;
      case BufferType.NetworkUpstreamData:
        return (context?.kind === "connection" && context.upstreamData) || EMPTY_BYTES;
      case BufferType.VmConfiguration:
        return context?.kind === "root" ? context.vmConfiguration : null;
      case BufferType.PluginConfiguration:
        return context?.kind === "root" ? context.pluginConfiguration : null;
      default:
        return null;
    }
  }

  const functions: Record<string, HostFunction> = {
    proxy_log(level: number, ptr: number, size: number) {
      if (level >>> 0 > WasmLogLevel.Critical) return WasmResult.BadArgument;
      if (!memory().inBounds(ptr, size)) return WasmResult.InvalidMemoryAccess;
      const name = LOG_LEVELS[level];
      // Decoding costs more than the check: only decode what will be printed.
      if (vm.logger.enabled("wasm", name)) log(vm.effective, name, memory().string(ptr, size)!);
      return WasmResult.Ok;
    },

    proxy_get_log_level(levelPtr: number) {
      const level = LOG_LEVELS.findIndex((name) => vm.logger.enabled("wasm", name));
      return memory().writeU32(levelPtr, level < 0 ? LOG_LEVELS.length : level) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_get_current_time_nanoseconds(resultPtr: number) {
      const ok = memory().writeU64(resultPtr, BigInt(Date.now()) * 1_000_000n);
      return ok ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_get_status(codePtr: number, messagePtrPtr: number, messageSizePtr: number) {
      if (!memory().writeU32(codePtr, 0)) return WasmResult.InvalidMemoryAccess;
      return memory().copyOut(EMPTY_BYTES, messagePtrPtr, messageSizePtr);
    },

    // ---------------------------------------------------------------- buffers (§4)

    proxy_get_buffer_status(type: number, lengthPtr: number, flagsPtr: number) {
      if (type >>> 0 > BufferType.CallData) return WasmResult.BadArgument;
      const buffer = readableBuffer(type);
      if (buffer === null) return WasmResult.NotFound;
      const ok = memory().writeU32(lengthPtr, buffer.length) && memory().writeU32(flagsPtr, 0);
      return ok ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_get_buffer_bytes(type: number, start: number, length: number, ptrPtr: number, sizePtr: number) {
      if (type >>> 0 > BufferType.CallData) return WasmResult.BadArgument;
      const buffer = readableBuffer(type);
      if (buffer === null) return WasmResult.NotFound;
      const from = Math.min(start >>> 0, buffer.length);
      const to = Math.min(from + (length >>> 0), buffer.length);
      return memory().copyOut(from === to ? EMPTY_BYTES : buffer.subarray(from, to), ptrPtr, sizePtr);
    },

    proxy_set_buffer_bytes(type: number, start: number, length: number, dataPtr: number, dataSize: number) {
      if (type >>> 0 > BufferType.CallData) return WasmResult.BadArgument;
      const context = vm.effective;
      const isNetwork = type === BufferType.NetworkDownstreamData || type === BufferType.NetworkUpstreamData;
      if (context?.kind !== "connection" || !isNetwork) {
        // Configuration buffers exist only during their callback, and are read-only.
        return !isNetwork && readableBuffer(type) !== null ? WasmResult.BadArgument : WasmResult.NotFound;
      }
      const downstream = type === BufferType.NetworkDownstreamData;
      const current = downstream ? context.downstreamData : context.upstreamData;
      if (current === null) return WasmResult.NotFound;
      const data = memory().copy(dataPtr, dataSize);
      if (data === null) return WasmResult.InvalidMemoryAccess;
      const edited = editBuffer(current, start >>> 0, length >>> 0, data);
      if (edited === null) return WasmResult.BadArgument;
      if (downstream) context.downstreamData = edited;
      else context.upstreamData = edited;
      return WasmResult.Ok;
    },

    // ---------------------------------------------------------------- properties (§5)

    proxy_get_property(pathPtr: number, pathSize: number, valuePtrPtr: number, valueSizePtr: number) {
      const path = memory().string(pathPtr, pathSize);
      if (path === null) return WasmResult.InvalidMemoryAccess;
      const context = vm.effective;
      // Most connections store no property: then the lookup, which hashes the path, is skipped.
      const stored =
        context?.kind === "connection" && context.setProperties.size > 0
          ? context.setProperties.get(withoutTrailingNul(path))
          : undefined;
      const value = stored ?? readProperty(context?.kind === "connection" ? context.properties : vm.rootProperties, path);
      return typeof value === "number" ? value : memory().copyOut(value, valuePtrPtr, valueSizePtr);
    },

    proxy_set_property(pathPtr: number, pathSize: number, valuePtr: number, valueSize: number) {
      const path = memory().string(pathPtr, pathSize);
      const value = memory().copy(valuePtr, valueSize);
      if (path === null || value === null) return WasmResult.InvalidMemoryAccess;
      const context = vm.effective;
      if (context?.kind !== "connection") return WasmResult.NotFound;
      context.setProperties.set(withoutTrailingNul(path), value);
      return WasmResult.Ok;
    },

    // ---------------------------------------------------------------- metrics (§6)

    proxy_define_metric(type: number, namePtr: number, nameSize: number, idPtr: number) {
      if (type >>> 0 > MetricType.Histogram) return WasmResult.BadArgument;
      const name = memory().string(namePtr, nameSize);
      if (name === null) return WasmResult.InvalidMemoryAccess;
      return memory().writeU32(idPtr, vm.metrics.define(type, name)) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_increment_metric(id: number, offset: bigint) {
      const metric = vm.metrics.get(id);
      if (metric === undefined) return WasmResult.NotFound;
      if (metric.type === MetricType.Histogram) return WasmResult.BadArgument;
      if (metric.type === MetricType.Counter && offset <= 0n) return WasmResult.BadArgument;
      vm.stats.add(metric.statName, offset);
      return WasmResult.Ok;
    },

    proxy_record_metric(id: number, value: bigint) {
      const metric = vm.metrics.get(id);
      if (metric === undefined) return WasmResult.NotFound;
      const unsigned = BigInt.asUintN(64, value);
      if (metric.type === MetricType.Gauge) vm.stats.set(metric.statName, unsigned);
      else vm.stats.add(metric.statName, unsigned);
      return WasmResult.Ok;
    },

    proxy_get_metric(id: number, resultPtr: number) {
      const metric = vm.metrics.get(id);
      if (metric === undefined) return WasmResult.NotFound;
      if (metric.type === MetricType.Histogram) return WasmResult.BadArgument;
      const value = BigInt.asUintN(64, vm.stats.get(metric.statName) ?? 0n);
      return memory().writeU64(resultPtr, value) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    // ---------------------------------------------------------------- contexts and streams (§3)

    proxy_set_effective_context(id: number) {
      const context = vm.contexts.get(id);
      if (context === undefined) return WasmResult.BadArgument;
      vm.effective = context;
      return WasmResult.Ok;
    },

    proxy_continue_stream(type: number) {
      switch (type) {
        case StreamType.HttpRequest:
        case StreamType.HttpResponse:
          return WasmResult.Ok;
        case StreamType.Downstream:
          if (vm.effective?.kind === "connection") vm.effective.stream.continueDownstream();
          return WasmResult.Ok;
        case StreamType.Upstream:
          return WasmResult.Unimplemented;
        default:
          return WasmResult.BadArgument;
      }
    },

    proxy_close_stream(type: number) {
      switch (type) {
        case StreamType.HttpRequest:
        case StreamType.HttpResponse:
          return WasmResult.Ok;
        case StreamType.Downstream:
        case StreamType.Upstream:
          // Both close the one connection a network filter has: the downstream one.
          if (vm.effective?.kind === "connection") vm.effective.stream.closeDownstream();
          return WasmResult.Ok;
        default:
          return WasmResult.BadArgument;
      }
    },

    proxy_done() {
      return vm.effective?.kind === "root" && vm.rootDone() ? WasmResult.Ok : WasmResult.NotFound;
    },

    proxy_set_tick_period_milliseconds(period: number) {
      vm.setTickPeriod(period >>> 0);
      return WasmResult.Ok;
    },

    // ---------------------------------------------------------------- shared data

    proxy_get_shared_data(keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number, casPtr: number) {
      const key = memory().string(keyPtr, keySize);
      if (key === null) return WasmResult.InvalidMemoryAccess;
      const entry = vm.shared.get(key);
      if (entry === undefined) return WasmResult.NotFound;
      const result = memory().copyOut(entry.value, valuePtrPtr, valueSizePtr);
      if (result !== WasmResult.Ok) return result;
      return memory().writeU32(casPtr, entry.cas) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_set_shared_data(keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number) {
      const key = memory().string(keyPtr, keySize);
      const value = memory().copy(valuePtr, valueSize);
      if (key === null || value === null) return WasmResult.InvalidMemoryAccess;
      return vm.shared.set(key, value, cas >>> 0) ? WasmResult.Ok : WasmResult.CasMismatch;
    },

    proxy_call_foreign_function() {
      return WasmResult.NotFound;
    },

    // ABI 0.1.0's HTTP stream calls: nothing to resume on a TCP connection.
    proxy_continue_request: () => WasmResult.Ok,
    proxy_continue_response: () => WasmResult.Ok,
    proxy_clear_route_cache: () => WasmResult.Ok,
  };
  for (const name of [
    "proxy_send_local_response",
    "proxy_get_header_map_value",
    "proxy_add_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_get_header_map_pairs",
    "proxy_set_header_map_pairs",
    "proxy_get_header_map_size",
  ]) {
    functions[name] = () => WasmResult.BadArgument;
  }
  return functions;
}

/**
 * Envoy's edit of a network buffer: start 0 drains `length` bytes then prepends the data; a
 * start at or past the end appends; anything between is refused (null).
 */
function editBuffer(current: Uint8Array, start: number, length: number, data: Uint8Array): Uint8Array | null {
  if (start === 0) return concatBytes(data, current.subarray(Math.min(length, current.length)));
  if (start >= current.length) return concatBytes(current, data);
  return null;
}

function withoutTrailingNul(path: string): string {
  return path.endsWith("\0") ? path.slice(0, -1) : path;
}

function wasiFunctions(vm: WasmVm, module: string): Record<string, HostFunction> {
  const memory = () => vm.memory;
  return {
    /** stdout and stderr become log lines at info and error, as Envoy logs them. */
    fd_write(fd: number, iovs: number, iovsCount: number, writtenPtr: number) {
      if (fd !== 1 && fd !== 2) return WASI_EBADF;
      const parts: Uint8Array[] = [];
      let written = 0;
      for (let i = 0; i < iovsCount; i++) {
        const entry = memory().bytes(iovs + i * 8, 8);
        if (entry === null) return WASI_EINVAL;
        const view = new DataView(entry.buffer, entry.byteOffset, 8);
        const part = memory().copy(view.getUint32(0, true), view.getUint32(4, true));
        if (part === null) return WASI_EINVAL;
        parts.push(part);
        written += part.length;
      }
      if (!memory().writeU32(writtenPtr, written)) return WASI_EINVAL;
      const level = fd === 1 ? "info" : "error";
      if (vm.logger.enabled("wasm", level)) {
        const prefix = vm.effective?.kind === "connection" ? vm.connectionLogPrefix : vm.rootLogPrefix;
        const message = parts.map((part) => decoder.decode(part)).join("");
        vm.logger.log("wasm", level, CONTEXT_SOURCE, `${prefix}: ${message}`, vm.thread);
      }
      return WASI_SUCCESS;
    },
    environ_get: () => WASI_SUCCESS,
    args_get: () => WASI_SUCCESS,
    environ_sizes_get: (countPtr: number, sizePtr: number) => writeZeroSizes(countPtr, sizePtr),
    args_sizes_get: (countPtr: number, sizePtr: number) => writeZeroSizes(countPtr, sizePtr),
    clock_time_get(clockId: number, _precision: bigint, resultPtr: number) {
      const now = clockId === 0 ? BigInt(Date.now()) * 1_000_000n : clockId === 1 ? process.hrtime.bigint() : null;
      if (now === null) return WASI_EINVAL;
      return memory().writeU64(resultPtr, now) ? WASI_SUCCESS : WASI_EINVAL;
    },
    random_get(ptr: number, length: number) {
      const target = memory().bytes(ptr, length);
      if (target === null) return WASI_EINVAL;
      randomFillSync(target);
      return WASI_SUCCESS;
    },
    sched_yield: () => WASI_SUCCESS,
    /** No preopened directories: the scan of a WASI libc stops at the first EBADF. */
    fd_prestat_get: () => WASI_EBADF,
    /** Logged at trace only: the trap that follows is what fails the VM (docs/envoy-host.md §8). */
    proc_exit() {
      vm.logger.log("wasm", "trace", CONTEXT_SOURCE, `${module} proc_exit`, vm.thread);
    },
  };

  function writeZeroSizes(countPtr: number, sizePtr: number): number {
    return memory().writeU32(countPtr, 0) && memory().writeU32(sizePtr, 0) ? WASI_SUCCESS : WASI_EINVAL;
  }
}
