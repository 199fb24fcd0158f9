// Test modules written in WebAssembly text, compiled at test time with wabt.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import wabtInit from "wabt";

const wabt = await wabtInit();
const folder = mkdtempSync(join(tmpdir(), "wat-"));
process.on("exit", () => rmSync(folder, { recursive: true, force: true }));
let written = 0;

function compileWat(text: string): Uint8Array {
  // threads: a module may declare its memory shared and wait on it (memory.atomic.wait32)
  const module = wabt.parseWat("test.wat", text, { threads: true });
  try {
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

/** Compile and write to a temporary .wasm file (the host loads plugins from files); its path. */
export function writeWat(text: string): string {
  const path = join(folder, `module-${++written}.wasm`);
  writeFileSync(path, compileWat(text));
  return path;
}

/** The host functions a test module may call, under their proxy-wasm names. */
const IMPORTS = `
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_status" (func $get_buffer_status (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $set_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define_metric (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $increment_metric (param i32 i64) (result i32)))
  (import "env" "proxy_record_metric" (func $record_metric (param i32 i64) (result i32)))
  (import "env" "proxy_get_metric" (func $get_metric (param i32 i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue_stream (param i32) (result i32)))
  (import "env" "proxy_close_stream" (func $close_stream (param i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $set_effective_context (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_unstable" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
`;

export interface PluginModuleOptions {
  /** the ABI marker export; null for none */
  abi?: string | null;
  /** the allocator export's name; null for none */
  allocator?: string | null;
  /** extra import lines */
  imports?: string;
  /** a shared memory, which `memory.atomic.wait32` needs */
  sharedMemory?: boolean;
}

/**
 * A proxy-wasm module: the usual imports, one page of memory, a bump allocator, the ABI marker,
 * and `body` (the callbacks and data a test needs). `$heap` counts allocations from 4096.
 */
export function pluginModule(body: string, options: PluginModuleOptions = {}): string {
  const abi = options.abi === undefined ? "proxy_abi_version_0_2_0" : options.abi;
  const allocator = options.allocator === undefined ? "malloc" : options.allocator;
  return `(module
    ${IMPORTS}
    ${options.imports ?? ""}
    (memory (export "memory") 1 ${options.sharedMemory === true ? "1 shared" : ""})
    (global $heap (mut i32) (i32.const 4096))
    (func $malloc (param $size i32) (result i32)
      (local $block i32)
      (local.set $block (global.get $heap))
      (global.set $heap (i32.add (global.get $heap) (local.get $size)))
      (local.get $block))
    ${allocator === null ? "" : `(export "${allocator}" (func $malloc))`}
    ${abi === null ? "" : `(func (export "${abi}"))`}
    ${body}
  )`;
}
