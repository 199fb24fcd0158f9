// What a release module must be for Envoy to load it (docs/envoy-host.md §1), checked on the file.

import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";

// docs/envoy-host.md §1: what Envoy registers, ABI 0.2.1 included.
const ENVOY_ENV = new Set(["proxy_log", "proxy_get_status", "proxy_set_property", "proxy_get_property", "proxy_send_local_response", "proxy_get_shared_data", "proxy_set_shared_data", "proxy_register_shared_queue", "proxy_resolve_shared_queue", "proxy_dequeue_shared_queue", "proxy_enqueue_shared_queue", "proxy_get_header_map_value", "proxy_add_header_map_value", "proxy_replace_header_map_value", "proxy_remove_header_map_value", "proxy_get_header_map_pairs", "proxy_set_header_map_pairs", "proxy_get_header_map_size", "proxy_get_buffer_status", "proxy_get_buffer_bytes", "proxy_set_buffer_bytes", "proxy_http_call", "proxy_grpc_call", "proxy_grpc_stream", "proxy_grpc_close", "proxy_grpc_cancel", "proxy_grpc_send", "proxy_set_tick_period_milliseconds", "proxy_get_current_time_nanoseconds", "proxy_define_metric", "proxy_increment_metric", "proxy_record_metric", "proxy_get_metric", "proxy_set_effective_context", "proxy_done", "proxy_call_foreign_function", "proxy_continue_stream", "proxy_close_stream", "proxy_get_log_level"]);
const ENVOY_WASI = new Set(["fd_write", "fd_read", "fd_seek", "fd_close", "fd_fdstat_get", "fd_fdstat_set_flags", "environ_get", "environ_sizes_get", "args_get", "args_sizes_get", "clock_time_get", "random_get", "sched_yield", "poll_oneoff", "proc_exit", "path_open", "fd_prestat_get", "fd_prestat_dir_name"]);

/** The largest module the project ships. */
const MAX_MODULE_BYTES = 40 * 1024;

/**
 * The module exports the ABI 0.2.1 marker and no other, imports only what Envoy provides (never
 * env.abort), and is at most 40 KiB.
 */
export function assertEnvoyModule(path: string): void {
  const module = new WebAssembly.Module(readFileSync(path));
  const markers = WebAssembly.Module.exports(module).filter((e) => e.name.startsWith("proxy_abi_version_"));
  assert.deepEqual(markers, [{ name: "proxy_abi_version_0_2_1", kind: "function" }]);
  for (const entry of WebAssembly.Module.imports(module)) {
    const known = entry.module === "env" ? ENVOY_ENV : entry.module === "wasi_unstable" || entry.module === "wasi_snapshot_preview1" ? ENVOY_WASI : new Set<string>();
    assert.ok(known.has(entry.name), `${entry.module}.${entry.name} is not provided by Envoy`);
  }
  const size = statSync(path).size;
  assert.ok(size <= MAX_MODULE_BYTES, `${path} is ${size} bytes, more than ${MAX_MODULE_BYTES}`);
}
