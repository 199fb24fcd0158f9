// The ABI table: every host call a module may import and every callback Envoy looks for among
// its exports, each declared once (in host-calls/ by area, and in callbacks.ts). The module
// checks (module.ts), the import object (imports.ts), the VM's callback bindings (vm.ts) and the
// trace (trace-text.ts) all derive from it.

import type { AbiVersion } from "./abi.ts";
import { ALLOCATORS, CALLBACKS, ENTRY_POINTS } from "./callbacks.ts";
import { BUFFER_CALLS } from "./host-calls/buffer-calls.ts";
import { HTTP_CALLS } from "./host-calls/http-calls.ts";
import { LOG_CALLS } from "./host-calls/log-calls.ts";
import { METRIC_CALLS } from "./host-calls/metric-calls.ts";
import { OUTBOUND_CALLS } from "./host-calls/outbound-calls.ts";
import { PROPERTY_CALLS } from "./host-calls/property-calls.ts";
import { SHARED_DATA_CALLS } from "./host-calls/shared-data-calls.ts";
import { STREAM_CALLS } from "./host-calls/stream-calls.ts";
import { TIMER_CALLS } from "./host-calls/timer-calls.ts";
import { WASI_CALLS } from "./host-calls/wasi-calls.ts";
import type { Callback, HostCall } from "./spec.ts";

/** Every host call, by ABI area. */
export const HOST_CALLS: readonly HostCall[] = [
  ...LOG_CALLS,
  ...BUFFER_CALLS,
  ...PROPERTY_CALLS,
  ...METRIC_CALLS,
  ...STREAM_CALLS,
  ...TIMER_CALLS,
  ...SHARED_DATA_CALLS,
  ...OUTBOUND_CALLS,
  ...HTTP_CALLS,
  ...WASI_CALLS,
];

/** The two module names WASI calls are registered under. */
export const WASI_MODULES = ["wasi_unstable", "wasi_snapshot_preview1"] as const;

/** The `env` host calls registered for a module of this ABI version. */
export function envCalls(version: AbiVersion): HostCall[] {
  return HOST_CALLS.filter((call) => call.module === "env" && call.versions.includes(version));
}

export const WASI_CALLS_BY_NAME: ReadonlyMap<string, HostCall> = new Map(
  HOST_CALLS.filter((call) => call.module === "wasi").map((call) => [call.name, call]),
);

/** Every export Envoy looks for, in the order it gets them: entry points, allocator, callbacks. */
export const MODULE_FUNCTIONS: readonly Callback[] = [...ENTRY_POINTS, ...ALLOCATORS, ...CALLBACKS];

const HOST_CALLS_BY_NAME = new Map(HOST_CALLS.map((call) => [call.name, call]));
const MODULE_FUNCTIONS_BY_NAME = new Map(MODULE_FUNCTIONS.map((callback) => [callback.name, callback]));

export function hostCallNamed(name: string): HostCall | undefined {
  return HOST_CALLS_BY_NAME.get(name);
}

export function moduleFunctionNamed(name: string): Callback | undefined {
  return MODULE_FUNCTIONS_BY_NAME.get(name);
}
