// The import object a VM instantiates its module with, derived from the ABI table: for each host
// call of the module's ABI version, its shim bound to the VM's HostContext, refused outside the
// phases cpp-host allows it in (docs/envoy-host.md §1), and traced when tracing is on.

import type { AbiVersion } from "./abi.ts";
import { envCalls, WASI_CALLS_BY_NAME, WASI_MODULES } from "./abi-table.ts";
import type { Word } from "./contract.ts";
import { Phase, type HostCall, type HostContext, type WasiContext } from "./spec.ts";
import type { TraceRecorder } from "./trace.ts";

type ImportedFunction = (...words: Word[]) => number | void;

export function createImports(host: HostContext, version: AbiVersion, trace: TraceRecorder | null): WebAssembly.Imports {
  const env: Record<string, ImportedFunction> = {};
  for (const call of envCalls(version)) env[call.name] = bind(call, host, trace);
  const imports: WebAssembly.Imports = { env };
  for (const module of WASI_MODULES) {
    const wasi: Record<string, ImportedFunction> = {};
    const wasiHost = wasiContext(host, module);
    for (const call of WASI_CALLS_BY_NAME.values()) wasi[call.name] = bind(call, wasiHost, trace);
    imports[module] = wasi;
  }
  return imports;
}

/** The shim as the module calls it: the phase enforced, and the call traced when tracing is on. */
function bind(call: HostCall, host: HostContext, trace: TraceRecorder | null): ImportedFunction {
  const shim = call.call;
  const allowedIn = call.allowedIn;
  // Fixed arity: no arguments array per call (the implemented calls take at most ten words).
  const guarded = (a: Word, b: Word, c: Word, d: Word, e: Word, f: Word, g: Word, h: Word, i: Word, j: Word) => {
    const phase = host.phase;
    if (phase !== Phase.Callback && !allowedIn.has(phase)) throw new Error("restricted_callback");
    return shim(host, a, b, c, d, e, f, g, h, i, j);
  };
  if (trace === null) return guarded;
  return (...args: Word[]) =>
    trace.hostCall(call, args, host, () => guarded(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9]));
}

function wasiContext(host: HostContext, module: string): WasiContext {
  return {
    get memory() {
      return host.memory;
    },
    get context() {
      return host.context;
    },
    get phase() {
      return host.phase;
    },
    setEffectiveContext: (id) => host.setEffectiveContext(id),
    module,
  };
}
