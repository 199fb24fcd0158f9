// Ticks: a plugin class that declares `onTick(): void` has it called on its root context every
// period, on each VM on its own (the main thread's and every worker's; docs/envoy-host.md §21).
// The period is the VM's: set it from the plugin's configure.

import { LogLevelValues, WasmResultValues } from "@solo-io/proxy-runtime/runtime";
import { resultName, setTickPeriodMilliseconds } from "./host";
import { log } from "./log";

/** Calls the plugin's onTick every `milliseconds` from now on; 0 stops the ticks. */
export function setTickPeriod(milliseconds: u32): void {
  const result = setTickPeriodMilliseconds(milliseconds);
  if (result != WasmResultValues.Ok) {
    log(LogLevelValues.error, "cannot set the tick period to " + milliseconds.toString() + " ms: " + resultName(result));
  }
}
