// Loading and linking a module the way Envoy's host does (docs/envoy-host.md §1): the file, the ABI
// version marker, every import being one the host registers, and an allocator export.

import { readFileSync } from "node:fs";
import { ABI_VERSION_EXPORTS } from "./abi.ts";

export type AbiVersion = (typeof ABI_VERSION_EXPORTS)[number];

export interface WasmCode {
  module: WebAssembly.Module;
  abiVersion: AbiVersion;
  /** `malloc` when exported, else `proxy_on_memory_allocate` */
  allocator: string;
}

/** Thrown with the reason Envoy gives for a plugin it cannot start (module, link or VM start). */
export class WasmStartError extends Error {}

const ENV_FUNCTIONS = [
  "proxy_log",
  "proxy_get_status",
  "proxy_set_property",
  "proxy_get_property",
  "proxy_send_local_response",
  "proxy_get_shared_data",
  "proxy_set_shared_data",
  "proxy_register_shared_queue",
  "proxy_resolve_shared_queue",
  "proxy_dequeue_shared_queue",
  "proxy_enqueue_shared_queue",
  "proxy_get_header_map_value",
  "proxy_add_header_map_value",
  "proxy_replace_header_map_value",
  "proxy_remove_header_map_value",
  "proxy_get_header_map_pairs",
  "proxy_set_header_map_pairs",
  "proxy_get_header_map_size",
  "proxy_get_buffer_status",
  "proxy_get_buffer_bytes",
  "proxy_set_buffer_bytes",
  "proxy_http_call",
  "proxy_grpc_call",
  "proxy_grpc_stream",
  "proxy_grpc_close",
  "proxy_grpc_cancel",
  "proxy_grpc_send",
  "proxy_set_tick_period_milliseconds",
  "proxy_get_current_time_nanoseconds",
  "proxy_define_metric",
  "proxy_increment_metric",
  "proxy_record_metric",
  "proxy_get_metric",
  "proxy_set_effective_context",
  "proxy_done",
  "proxy_call_foreign_function",
];

/** The functions that differ between ABI versions. */
const ENV_FUNCTIONS_BY_VERSION: Record<AbiVersion, string[]> = {
  proxy_abi_version_0_1_0: ["proxy_continue_request", "proxy_continue_response", "proxy_clear_route_cache"],
  proxy_abi_version_0_2_0: ["proxy_continue_stream", "proxy_close_stream"],
  proxy_abi_version_0_2_1: ["proxy_continue_stream", "proxy_close_stream", "proxy_get_log_level"],
};

export const WASI_MODULES = ["wasi_unstable", "wasi_snapshot_preview1"] as const;

export const WASI_FUNCTIONS = [
  "fd_write",
  "fd_read",
  "fd_seek",
  "fd_close",
  "fd_fdstat_get",
  "fd_fdstat_set_flags",
  "environ_get",
  "environ_sizes_get",
  "args_get",
  "args_sizes_get",
  "clock_time_get",
  "random_get",
  "sched_yield",
  "poll_oneoff",
  "proc_exit",
  "path_open",
  "fd_prestat_get",
  "fd_prestat_dir_name",
];

/** The `env` functions the host registers for a module of this ABI version. */
export function envFunctionNames(abiVersion: AbiVersion): string[] {
  return [...ENV_FUNCTIONS, ...ENV_FUNCTIONS_BY_VERSION[abiVersion]];
}

export function loadWasmCode(path: string): WasmCode {
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(readFileSync(path));
  } catch {
    throw new WasmStartError(`Failed to load Wasm code from ${path}`);
  }
  const exports = WebAssembly.Module.exports(module);
  const exportedFunctions = new Set(exports.filter((e) => e.kind === "function").map((e) => e.name));
  const abiVersion = ABI_VERSION_EXPORTS.find((name) => exportedFunctions.has(name));
  if (abiVersion === undefined) throw new WasmStartError("Missing or unknown Proxy-Wasm ABI version");
  checkImports(module, abiVersion);
  const allocator = ["malloc", "proxy_on_memory_allocate"].find((name) => exportedFunctions.has(name));
  if (allocator === undefined) throw new WasmStartError("Wasm module is missing malloc function");
  return { module, abiVersion, allocator };
}

function checkImports(module: WebAssembly.Module, abiVersion: AbiVersion): void {
  const env = new Set(envFunctionNames(abiVersion));
  const wasi = new Set(WASI_FUNCTIONS);
  for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
    const registered =
      kind === "function" &&
      ((from === "env" && env.has(name)) || ((WASI_MODULES as readonly string[]).includes(from) && wasi.has(name)));
    if (!registered) throw new WasmStartError(`Failed to load Wasm module due to a missing import: ${from}.${name}`);
  }
}
