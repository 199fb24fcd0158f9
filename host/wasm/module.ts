// Loading and linking a module the way Envoy's host does (docs/envoy-host.md §1): the file, the
// ABI version marker, every import being one the host registers, the signature of every export
// Envoy looks for, and an allocator export. What is registered and looked for is the ABI table's.

import { readFileSync } from "node:fs";
import { ABI_VERSIONS, type AbiVersion } from "./abi.ts";
import { envCalls, MODULE_FUNCTIONS, WASI_CALLS_BY_NAME, WASI_MODULES } from "./abi-table.ts";
import { ALLOCATORS, INITIALIZE, MAIN, START } from "./callbacks.ts";
import { exportSignatures, formatSignature, sameSignature } from "./signatures.ts";

export interface WasmCode {
  module: WebAssembly.Module;
  abiVersion: AbiVersion;
  /** `malloc` when exported, else `proxy_on_memory_allocate` */
  allocator: string;
}

/** Thrown with the reason Envoy gives for a plugin it cannot start (module, link or VM start). */
export class WasmStartError extends Error {}

export function loadWasmCode(path: string): WasmCode {
  let bytes: Uint8Array<ArrayBuffer>;
  let module: WebAssembly.Module;
  try {
    bytes = new Uint8Array(readFileSync(path));
    module = new WebAssembly.Module(bytes);
  } catch {
    throw new WasmStartError(`Failed to load Wasm code from ${path}`);
  }
  const exports = WebAssembly.Module.exports(module);
  const exportedFunctions = new Set(exports.filter((e) => e.kind === "function").map((e) => e.name));
  const abiVersion = ABI_VERSIONS.find((name) => exportedFunctions.has(name));
  if (abiVersion === undefined) throw new WasmStartError("Missing or unknown Proxy-Wasm ABI version");
  checkImports(module, abiVersion);
  checkSignatures(bytes, abiVersion);
  const allocator = ALLOCATORS.find((callback) => exportedFunctions.has(callback.name));
  if (allocator === undefined) throw new WasmStartError("Wasm module is missing malloc function");
  return { module, abiVersion, allocator: allocator.name };
}

function checkImports(module: WebAssembly.Module, abiVersion: AbiVersion): void {
  const env = new Set(envCalls(abiVersion).map((call) => call.name));
  for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
    const registered =
      kind === "function" &&
      ((from === "env" && env.has(name)) || ((WASI_MODULES as readonly string[]).includes(from) && WASI_CALLS_BY_NAME.has(name)));
    if (!registered) throw new WasmStartError(`Failed to load Wasm module due to a missing import: ${from}.${name}`);
  }
}

/**
 * Envoy refuses a module one of whose exports it looks for has another signature than the ABI's,
 * naming the first (cpp-host `getModuleFunctionImpl`, called from `WasmBase::getFunctions`).
 */
function checkSignatures(bytes: Uint8Array, abiVersion: AbiVersion): void {
  const signatures = exportSignatures(bytes);
  if (signatures === null) return;
  // a reactor's `main` is looked for, a command's `_start`: never both
  const notLookedFor = signatures.has(INITIALIZE.name) ? START : MAIN;
  for (const callback of MODULE_FUNCTIONS) {
    const found = signatures.get(callback.name);
    if (found === undefined || callback === notLookedFor || !callback.versions.includes(abiVersion)) continue;
    const wanted = callback.signature(abiVersion);
    if (!sameSignature(found, wanted)) {
      throw new WasmStartError(
        `Bad function signature for: ${callback.name}, want: ${formatSignature(wanted)}, but the module exports: ${formatSignature(found)}`,
      );
    }
  }
}
