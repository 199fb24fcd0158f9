// tcp_guard with a long deny_sources list: what a refused connection costs among 100,000 ranges
// against among 10 (the lookup must not grow with the list), and what configuring takes per VM
// at 10,000 and at 100,000 ranges (it must grow about linearly). The list ends with the range that
// holds the refused source, so that a scan in list order would try every range before it.

import { median, microsPerOp, nowNs, progress } from "./measure.ts";
import { GUARD_WASM, DENIED_SOURCE, guardPlugin } from "./scenarios.ts";
import { ConnectionDriver, startPlugin, type ChainSetting } from "./vm-driver.ts";
import { warmUp, type InVmSizes, type Timing } from "./in-vm.ts";

export const FEW_RANGES = 10;
export const MANY_RANGES = 100000;
/** Configured in turns, to compare with MANY_RANGES: a tenth of it. */
export const TENTH_RANGES = 10000;
/** Last in every list; holds DENIED_SOURCE. */
const HOLDING_RANGE = "10.0.0.0/8";

/** `count` ranges, IPv4 and IPv6 /32 and /128 in turns, none holding DENIED_SOURCE, then HOLDING_RANGE. */
function denyListConfiguration(count: number): string {
  const ranges: string[] = [];
  for (let i = 0; i < count - 1; i++) {
    ranges.push(i % 2 === 0 ? `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32` : `2001:db8::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}/128`);
  }
  ranges.push(HOLDING_RANGE);
  return JSON.stringify({ deny_sources: ranges });
}

/**
 * µs per refused connection (new_connection, the refusal, the downstream close) with FEW_RANGES
 * and with MANY_RANGES, in turns within each round; ratios to FEW_RANGES, median of the rounds'.
 */
export function deniedLookupMicros(setting: ChainSetting, sizes: InVmSizes): Timing {
  const drivers: Record<string, ConnectionDriver> = {};
  for (const count of [FEW_RANGES, MANY_RANGES]) {
    const plugin = startPlugin(guardPlugin(setting, denyListConfiguration(count)), GUARD_WASM, "info");
    drivers[count] = new ConnectionDriver(plugin, setting, DENIED_SOURCE);
  }
  warmUp(Object.values(drivers), (driver) => driver.refused(), "tcp_guard with long deny_sources");
  const samples: Record<string, number[]> = {};
  for (let round = 0; round <= sizes.lifecycleRounds; round++) {
    progress(`tcp_guard denied lookup: repetition ${round}/${sizes.lifecycleRounds}`);
    const subjects = round % 2 === 0 ? [FEW_RANGES, MANY_RANGES] : [MANY_RANGES, FEW_RANGES];
    for (const count of subjects) {
      const start = nowNs();
      for (let i = 0; i < sizes.lifecyclesPerBatch; i++) drivers[count].refused();
      // The first round is not counted: everything warm.
      if (round > 0) (samples[count] ??= []).push(microsPerOp(nowNs() - start, sizes.lifecyclesPerBatch));
    }
  }
  for (const driver of Object.values(drivers)) driver.plugin.close();
  const few = samples[FEW_RANGES];
  const micros = Object.fromEntries(Object.entries(samples).map(([count, values]) => [count, median(values)]));
  const ratios = Object.fromEntries(Object.entries(samples).map(([count, values]) => [count, median(values.map((value, i) => value / few[i]))]));
  return { micros, ratios };
}

/** Configures at start: the canary's, the main thread's and the one worker's (docs/envoy-host.md §2). */
const CONFIGURES_PER_START = 3;

/**
 * ms per VM's configure for `count` ranges, at info (the `configured:` line lists them all): the
 * whole start over its configures. Module compilation and VM creation are included (a few ms);
 * a trace to time the callback alone would add its own work on the 2 MB log line.
 */
function configureMillis(setting: ChainSetting, count: number): number {
  const plugin = guardPlugin(setting, denyListConfiguration(count));
  const start = nowNs();
  startPlugin(plugin, GUARD_WASM, "info").close();
  return (nowNs() - start) / 1e6 / CONFIGURES_PER_START;
}

/** Median ms per VM's configure at TENTH_RANGES and MANY_RANGES ranges, over `rounds` starts of each in turns. */
export function configurePerVmMillis(setting: ChainSetting, rounds: number): Record<string, number> {
  const samples: Record<string, number[]> = { [TENTH_RANGES]: [], [MANY_RANGES]: [] };
  for (let round = 0; round < rounds; round++) {
    for (const count of [TENTH_RANGES, MANY_RANGES]) {
      progress(`tcp_guard configure, ${count} ranges: repetition ${round + 1}/${rounds}`);
      samples[count].push(configureMillis(setting, count));
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([count, values]) => [count, median(values)]));
}
