// The benchmarks inside the local host's VM, without sockets: a connection's whole lifecycle for
// a filter and its two baselines, a new connection among many open ones, one downstream chunk by
// size, and linear memory after many connections. Whatever is compared runs in turns within each
// repetition, so that whatever the machine does meanwhile falls on all alike; a ratio is the
// median of the ratios of each repetition, a time the median repetition.

import type { WasmFilterConfig } from "../host/config/model.ts";
import { ByteBuffer } from "../host/buffer.ts";
import type { ConnectionFilter } from "../host/wasm/api.ts";
import { median, microsPerOp, nowNs, progress } from "./measure.ts";
import { type BaselineModules } from "./modules.ts";
import { LOGGER_WASM, PAYLOAD_BYTES, type Scenario } from "./scenarios.ts";
import { ConnectionDriver, startPlugin, workerMemoryBytes, type ChainSetting } from "./vm-driver.ts";

/**
 * Repetitions (rounds) of each figure and what one subject does in a round. Many short rounds:
 * on a busy machine a burst of other work then spoils few of them, and the median ignores those.
 */
export interface InVmSizes {
  lifecycleRounds: number;
  lifecyclesPerBatch: number;
  /** each round opens and closes 10,000 connections per subject, untimed */
  newConnectionRounds: number;
  newConnectionsPerBatch: number;
  chunkRounds: number;
  chunksPerBatch: number;
  /** tcp_guard started with a long deny list, each size in turns (three VMs configured each time) */
  configureRounds: number;
}

export const FULL_SIZES: InVmSizes = {
  lifecycleRounds: 60, lifecyclesPerBatch: 500, newConnectionRounds: 31, newConnectionsPerBatch: 1000, chunkRounds: 60, chunksPerBatch: 300,
  configureRounds: 3,
};
export const QUICK_SIZES: InVmSizes = {
  lifecycleRounds: 15, lifecyclesPerBatch: 300, newConnectionRounds: 5, newConnectionsPerBatch: 300, chunkRounds: 15, chunksPerBatch: 100,
  configureRounds: 1,
};

export const OPEN_COUNTS = [1, 1000, 10000] as const;
export const CHUNK_SIZES = [100, 64 * 1024, 1024 * 1024] as const;
export const MEMORY_CHECKPOINTS = [1000, 100000] as const;

/** Lifecycles run on each VM before anything is timed, so that V8 has tiered its hot code up. */
const WARM_UP_LIFECYCLES = 5000;
/** Lifecycles a VM runs in one turn of the warm-up before the next VM runs its own. */
const WARM_UP_TURN = 100;

/**
 * Runs WARM_UP_LIFECYCLES of `lifecycle` on each of `drivers`, the VMs taking turns every
 * WARM_UP_TURN lifecycles. In turns, not one VM after the other: V8 optimizes the host's code for
 * what it has seen so far, and a VM warmed up alone first has it optimized for its own objects.
 * Warmed up one after the other, of three VMs running the same module the second then ran its
 * lifecycles 6 to 7 % faster than the other two for the whole process; in turns, within 2 %
 * (bench/README.md).
 */
export function warmUp<D>(drivers: D[], lifecycle: (driver: D) => void, label: string): void {
  progress(`${label}: warming up`);
  for (let done = 0; done < WARM_UP_LIFECYCLES; done += WARM_UP_TURN) {
    for (const driver of drivers) for (let i = 0; i < WARM_UP_TURN; i++) lifecycle(driver);
  }
}

/** µs of one operation for a filter and the baseline(s) it is compared with, and the ratios. */
export interface Timing {
  /** subject → median µs */
  micros: Record<string, number>;
  /** subject → median over the repetitions of its time / the reference's time in the same one */
  ratios: Record<string, number>;
}

function payload(size: number): Uint8Array {
  return new Uint8Array(size).fill(0x61);
}

/**
 * Runs `repetitions` + 1 rounds of `round` (the first uncounted: everything warm), and returns per
 * key the samples each round returned. `round` gets the round's number, to vary the order.
 */
function rounds(repetitions: number, label: string, round: (rep: number) => Record<string, number>): Record<string, number[]> {
  const samples: Record<string, number[]> = {};
  for (let rep = 0; rep <= repetitions; rep++) {
    progress(`${label}: repetition ${rep}/${repetitions}`);
    const values = round(rep);
    if (rep === 0) continue;
    for (const [key, value] of Object.entries(values)) (samples[key] ??= []).push(value);
  }
  return samples;
}

/** Medians of the samples, and of each key's ratio to `reference` round by round. */
function timing(samples: Record<string, number[]>, reference: string): Timing {
  const micros: Record<string, number> = {};
  const ratios: Record<string, number> = {};
  for (const [key, values] of Object.entries(samples)) {
    micros[key] = median(values);
    ratios[key] = median(values.map((value, i) => value / samples[reference][i]));
  }
  return { micros, ratios };
}

/** `items` rotated by `by`: each round starts with another one. */
function rotated<T>(items: readonly T[], by: number): T[] {
  const start = by % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

// ---------------------------------------------------------------- lifecycles

/** The three subjects of a lifecycle figure. */
export const FILTER = "filter";
export const SAME_CALLS = "same calls";
export const DO_NOTHING = "do nothing";

/**
 * µs per whole connection of `scenario` for the filter, its same-calls baseline (`sameCalls`, its
 * plugin configuration) and the do-nothing baseline; ratios to the same-calls baseline, and, under
 * the do-nothing subject's name in `overDoNothing`, the filter's ratio to the do-nothing one. The
 * three VMs are created in the order `[filter, same calls, do nothing]` rotated by `creationTurn`:
 * where a VM stands in that order made it run 6 to 7 % faster for a whole process when the VMs
 * warmed up one after the other, and may still by a percent or two with warmUp's turns
 * (bench/README.md), so lifecycles.ts varies it from one process to the next.
 */
export function lifecycleMicros(
  scenario: Scenario,
  setting: ChainSetting,
  baselines: BaselineModules,
  sameCalls: WasmFilterConfig,
  sizes: InVmSizes,
  creationTurn: number,
): Timing & { overDoNothing: number } {
  const modules: Record<string, [WasmFilterConfig, string]> = {
    [FILTER]: [scenario.plugin, scenario.wasmPath],
    [SAME_CALLS]: [sameCalls, baselines.sameCalls],
    [DO_NOTHING]: [scenario.plugin, baselines.doNothing],
  };
  const subjects = Object.keys(modules);
  const drivers: Record<string, ConnectionDriver> = {};
  for (const subject of rotated(subjects, creationTurn)) {
    const [plugin, wasmPath] = modules[subject];
    drivers[subject] = new ConnectionDriver(startPlugin(plugin, wasmPath, scenario.level), setting, scenario.sourceAddress);
  }
  warmUp(Object.values(drivers), scenario.lifecycle, scenario.name);
  const samples = rounds(sizes.lifecycleRounds, scenario.name, (rep) => {
    const values: Record<string, number> = {};
    for (const subject of rotated(subjects, rep)) {
      const driver = drivers[subject];
      const start = nowNs();
      for (let i = 0; i < sizes.lifecyclesPerBatch; i++) scenario.lifecycle(driver);
      values[subject] = microsPerOp(nowNs() - start, sizes.lifecyclesPerBatch);
    }
    return values;
  });
  for (const driver of Object.values(drivers)) driver.plugin.close();
  const filterOverDoNothing = median(samples[FILTER].map((value, i) => value / samples[DO_NOTHING][i]));
  return { ...timing(samples, SAME_CALLS), overDoNothing: filterOverDoNothing };
}

// ---------------------------------------------------------------- the logger alone

/**
 * The logger (at info) and the do-nothing baseline, with the configuration of envoy/envoy.yaml;
 * and the same-calls baseline when its configuration (the logger's script at info) is given.
 */
function loggerDrivers(setting: ChainSetting, baselines: BaselineModules, sameCalls: WasmFilterConfig | null = null): Record<string, ConnectionDriver> {
  const drivers: Record<string, ConnectionDriver> = {
    [FILTER]: new ConnectionDriver(startPlugin(setting.plugin, LOGGER_WASM, "info"), setting),
    [DO_NOTHING]: new ConnectionDriver(startPlugin(setting.plugin, baselines.doNothing, "info"), setting),
  };
  if (sameCalls !== null) drivers[SAME_CALLS] = new ConnectionDriver(startPlugin(sameCalls, baselines.sameCalls, "info"), setting);
  const request = payload(PAYLOAD_BYTES);
  warmUp(Object.values(drivers), (driver) => driver.lifecycle(request, request), "the logger at info");
  return drivers;
}

function closeDrivers(drivers: Record<string, ConnectionDriver>): void {
  for (const driver of Object.values(drivers)) driver.plugin.close();
}

/** Connections that have sent their first bytes and stay open, grown or shrunk to a count. */
class OpenConnections {
  private readonly open: ConnectionFilter[] = [];
  private readonly request = payload(PAYLOAD_BYTES);

  constructor(private readonly driver: ConnectionDriver) {}

  resize(count: number): void {
    while (this.open.length < count) {
      const filter = this.driver.open();
      filter.onData(new ByteBuffer(this.request), false);
      this.open.push(filter);
    }
    while (this.open.length > count) this.driver.close(this.open.pop()!);
  }
}

/**
 * µs per new connection (filter created, proxy_on_context_create, proxy_on_new_connection) while
 * 1, 1,000 and 10,000 others are open, for the logger at info, its same-calls baseline
 * (`sameCalls`: what the host's side costs as connections pile up) and the do-nothing one. In each
 * round each subject is measured at every count on the same VM, one after the other (growing in
 * one round, shrinking in the next), and its ratios to 1 open are taken within the round. Each
 * new connection is ended, untimed, before the next, so exactly that many others are open
 * whenever one is timed.
 */
export function newConnectionMicros(setting: ChainSetting, baselines: BaselineModules, sameCalls: WasmFilterConfig, sizes: InVmSizes): Record<string, Timing> {
  const drivers = loggerDrivers(setting, baselines, sameCalls);
  const open = Object.fromEntries(Object.entries(drivers).map(([subject, driver]) => [subject, new OpenConnections(driver)]));
  const samples = rounds(sizes.newConnectionRounds, "new connection", (rep) => {
    const values: Record<string, number> = {};
    const counts = rep % 2 === 0 ? [...OPEN_COUNTS] : [...OPEN_COUNTS].reverse();
    for (const subject of rotated(Object.keys(drivers), rep)) {
      for (const count of counts) {
        open[subject].resize(count);
        values[`${subject}/${count}`] = timeNewConnections(drivers[subject], sizes.newConnectionsPerBatch);
      }
      open[subject].resize(0);
    }
    return values;
  });
  closeDrivers(drivers);
  return bySubject(samples, OPEN_COUNTS[0]);
}

function timeNewConnections(driver: ConnectionDriver, count: number): number {
  let timedNs = 0;
  for (let i = 0; i < count; i++) {
    const start = nowNs();
    const { filter } = driver.accept();
    filter.onNewConnection();
    timedNs += nowNs() - start;
    driver.close(filter);
  }
  return microsPerOp(timedNs, count);
}

/** `subject/condition` samples split by subject, each with its ratios to `reference` condition. */
function bySubject(samples: Record<string, number[]>, reference: number): Record<string, Timing> {
  const grouped: Record<string, Record<string, number[]>> = {};
  for (const [key, values] of Object.entries(samples)) {
    const [subject, condition] = key.split("/");
    (grouped[subject] ??= {})[condition] = values;
  }
  return Object.fromEntries(Object.entries(grouped).map(([subject, values]) => [subject, timing(values, String(reference))]));
}

/**
 * µs per proxy_on_downstream_data of one chunk of each size on an open connection, the sizes in
 * turns within each repetition; ratios to the 100-byte chunk of the same repetition.
 */
export function chunkMicros(setting: ChainSetting, baselines: BaselineModules, sizes: InVmSizes): Record<string, Timing> {
  const drivers = loggerDrivers(setting, baselines);
  const chunks = CHUNK_SIZES.map(payload);
  const connections = Object.fromEntries(Object.entries(drivers).map(([subject, driver]) => [subject, driver.open()]));
  const samples = rounds(sizes.chunkRounds, "downstream chunks", (rep) => {
    const values: Record<string, number> = {};
    for (const subject of rotated(Object.keys(drivers), rep)) {
      for (const chunk of rotated(chunks, rep)) {
        const filter = connections[subject];
        const start = nowNs();
        for (let i = 0; i < sizes.chunksPerBatch; i++) filter.onData(new ByteBuffer(chunk), false);
        values[`${subject}/${chunk.length}`] = microsPerOp(nowNs() - start, sizes.chunksPerBatch);
      }
    }
    return values;
  });
  for (const [subject, filter] of Object.entries(connections)) drivers[subject].close(filter);
  closeDrivers(drivers);
  return bySubject(samples, CHUNK_SIZES[0]);
}

/** Linear memory of the connection VMs after each checkpoint's number of lifecycles, per subject. */
export function memoryAfterLifecycles(setting: ChainSetting, baselines: BaselineModules): Record<string, number[]> {
  // Fresh VMs, not warmed up: memory is counted from the first connection on.
  const drivers = {
    [FILTER]: new ConnectionDriver(startPlugin(setting.plugin, LOGGER_WASM, "info"), setting),
    [DO_NOTHING]: new ConnectionDriver(startPlugin(setting.plugin, baselines.doNothing, "info"), setting),
  };
  const request = payload(PAYLOAD_BYTES);
  const result: Record<string, number[]> = {};
  for (const [subject, driver] of Object.entries(drivers)) {
    result[subject] = [];
    let done = 0;
    for (const checkpoint of MEMORY_CHECKPOINTS) {
      for (; done < checkpoint; done++) {
        if (done % 10000 === 0) progress(`memory, ${subject}: ${done} lifecycles`);
        driver.lifecycle(request, request);
      }
      result[subject].push(workerMemoryBytes(driver.plugin));
    }
  }
  closeDrivers(drivers);
  return result;
}
