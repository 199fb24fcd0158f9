// The benchmarks inside the local host's VM, without sockets: a connection's whole lifecycle,
// a new connection among many open ones, one downstream chunk by size, and linear memory after
// many connections. The plugin and the baseline run in turns within each repetition, so that
// whatever the machine does meanwhile falls on both alike; each figure is the median repetition.

import type { LogLevelName } from "../host/loggers.ts";
import type { NetworkFilter } from "../host/wasm/api.ts";
import { median, microsPerOp, nowNs, progress } from "./measure.ts";
import { ConnectionDriver, startPlugin, workerMemoryBytes, type ChainSetting } from "./vm-driver.ts";

/** A figure measured for the plugin and for the baseline in the same run. */
export interface Compared {
  plugin: number;
  baseline: number;
}

export interface Modules {
  plugin: string;
  baseline: string;
}

export interface InVmSizes {
  repetitions: number;
  lifecyclesPerBatch: number;
  newConnectionsPerBatch: number;
  chunksPerBatch: number;
}

export const FULL_SIZES: InVmSizes = { repetitions: 15, lifecyclesPerBatch: 2000, newConnectionsPerBatch: 500, chunksPerBatch: 1000 };
export const QUICK_SIZES: InVmSizes = { repetitions: 5, lifecyclesPerBatch: 1000, newConnectionsPerBatch: 300, chunksPerBatch: 300 };

const SMALL_PAYLOAD = 100;
export const OPEN_COUNTS = [1, 1000, 10000] as const;
export const CHUNK_SIZES = [100, 64 * 1024, 1024 * 1024] as const;
export const MEMORY_CHECKPOINTS = [1000, 100000] as const;

/** Bytes as a client might send them: printable, so the preview is escaped at its usual cost. */
function payload(size: number): Uint8Array {
  return new Uint8Array(size).fill(0x61);
}

/** The plugin and the baseline, each freshly started, with the logger at the same level. */
export type Pair = Record<keyof Compared, ConnectionDriver>;

/** Lifecycles run on each VM before anything is timed, so that V8 has tiered its hot code up. */
const WARM_UP_LIFECYCLES = 5000;

export function startPair(setting: ChainSetting, modules: Modules, logLevel: LogLevelName): Pair {
  const pair = {
    plugin: new ConnectionDriver(startPlugin(setting, modules.plugin, logLevel), setting),
    baseline: new ConnectionDriver(startPlugin(setting, modules.baseline, logLevel), setting),
  };
  const request = payload(SMALL_PAYLOAD);
  for (const subject of ["plugin", "baseline"] as const) {
    progress(`warming up the ${subject}, log level ${logLevel}`);
    for (let i = 0; i < WARM_UP_LIFECYCLES; i++) pair[subject].lifecycle(request, request);
  }
  return pair;
}

export function closePair(pair: Pair): void {
  pair.plugin.plugin.close();
  pair.baseline.plugin.close();
}

/**
 * Runs `measure` for the plugin and the baseline, alternating which goes first, and returns the
 * median of each. The first run of each is a warm-up and is not counted.
 */
function interleaved(repetitions: number, label: string, measure: (subject: keyof Compared) => number): Compared {
  const samples: Record<keyof Compared, number[]> = { plugin: [], baseline: [] };
  for (let rep = 0; rep <= repetitions; rep++) {
    progress(`${label}: repetition ${rep}/${repetitions}`);
    const order: Array<keyof Compared> = rep % 2 === 0 ? ["plugin", "baseline"] : ["baseline", "plugin"];
    for (const subject of order) {
      const value = measure(subject);
      if (rep > 0) samples[subject].push(value);
    }
  }
  return { plugin: median(samples.plugin), baseline: median(samples.baseline) };
}

/** µs per whole connection lifecycle (100 B each way) with the logger at `logLevel`. */
export function lifecycleMicros(pair: Pair, sizes: InVmSizes, logLevel: LogLevelName): Compared {
  const request = payload(SMALL_PAYLOAD);
  const reply = payload(SMALL_PAYLOAD);
  const result = interleaved(sizes.repetitions, `lifecycle, log level ${logLevel}`, (subject) => {
    const driver = pair[subject];
    const start = nowNs();
    for (let i = 0; i < sizes.lifecyclesPerBatch; i++) driver.lifecycle(request, reply);
    return microsPerOp(nowNs() - start, sizes.lifecyclesPerBatch);
  });
  return result;
}

/**
 * µs per new connection (filter created, proxy_on_context_create, proxy_on_new_connection)
 * while `openCount` connections are open. Each new connection is ended, untimed, before the
 * next, so exactly `openCount` others are open whenever one is timed.
 */
export function newConnectionMicros(pair: Pair, sizes: InVmSizes, openCount: number): Compared {
  const request = payload(SMALL_PAYLOAD);
  const result = interleaved(sizes.repetitions, `new connection, ${openCount} open`, (subject) => {
    const driver = pair[subject];
    const open = openConnections(driver, openCount, request);
    let timedNs = 0;
    for (let i = 0; i < sizes.newConnectionsPerBatch; i++) {
      const start = nowNs();
      const filter = driver.accept();
      filter.onNewConnection();
      timedNs += nowNs() - start;
      driver.close(filter);
    }
    for (const filter of open) driver.close(filter);
    return microsPerOp(timedNs, sizes.newConnectionsPerBatch);
  });
  return result;
}

/** `count` connections that have sent their first bytes and stay open. */
function openConnections(driver: ConnectionDriver, count: number, request: Uint8Array): NetworkFilter[] {
  const open: NetworkFilter[] = [];
  for (let i = 0; i < count; i++) {
    const filter = driver.open();
    filter.onDownstreamData(request, false);
    open.push(filter);
  }
  return open;
}

/** µs per proxy_on_downstream_data of one `size`-byte chunk on an open connection. */
export function chunkMicros(pair: Pair, sizes: InVmSizes, size: number): Compared {
  const chunk = payload(size);
  const connections = { plugin: pair.plugin.open(), baseline: pair.baseline.open() };
  const result = interleaved(sizes.repetitions, `downstream chunk of ${size} B`, (subject) => {
    const filter = connections[subject];
    const start = nowNs();
    for (let i = 0; i < sizes.chunksPerBatch; i++) filter.onDownstreamData(chunk, false);
    return microsPerOp(nowNs() - start, sizes.chunksPerBatch);
  });
  pair.plugin.close(connections.plugin);
  pair.baseline.close(connections.baseline);
  return result;
}

/** Linear memory of the connection VMs after each checkpoint's number of lifecycles, per subject. */
export function memoryAfterLifecycles(setting: ChainSetting, modules: Modules): Record<keyof Compared, number[]> {
  // Fresh VMs, not warmed up: memory is counted from the first connection on.
  const pair = {
    plugin: new ConnectionDriver(startPlugin(setting, modules.plugin, "info"), setting),
    baseline: new ConnectionDriver(startPlugin(setting, modules.baseline, "info"), setting),
  };
  const request = payload(SMALL_PAYLOAD);
  const reply = payload(SMALL_PAYLOAD);
  const result: Record<keyof Compared, number[]> = { plugin: [], baseline: [] };
  for (const subject of ["plugin", "baseline"] as const) {
    const driver = pair[subject];
    let done = 0;
    for (const checkpoint of MEMORY_CHECKPOINTS) {
      for (; done < checkpoint; done++) {
        if (done % 10000 === 0) progress(`memory, ${subject}: ${done} lifecycles`);
        driver.lifecycle(request, reply);
      }
      result[subject].push(workerMemoryBytes(driver.plugin));
    }
  }
  closePair(pair);
  return result;
}
