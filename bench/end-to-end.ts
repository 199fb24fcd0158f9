// The end-to-end benchmark on loopback: the local host with envoy/envoy.yaml, its listener
// `main` once with the chain [wasm, tcp_proxy] and once with [tcp_proxy] alone, both running at
// the same time on free ports and loaded in turns by a client in its own process.

import { fork, type ChildProcess } from "node:child_process";
import { startLocalHost, type RunningHost } from "../host/local-host.ts";
import { createLogger } from "../host/log.ts";
import type { LoadResult, LoadRun } from "./load-client.ts";
import { median, percentile, progress } from "./measure.ts";
import { ENVOY_CONFIG, MAIN_LISTENER } from "./vm-driver.ts";

export type Chain = "wasm+tcp_proxy" | "tcp_proxy";
const CHAINS: Chain[] = ["wasm+tcp_proxy", "tcp_proxy"];
const CONCURRENCIES = [1, 50] as const;

export interface EndToEndSizes {
  repetitions: number;
  maxRequests: number;
  maxMs: number;
  warmUpRequests: number;
}

export const FULL_E2E: EndToEndSizes = { repetitions: 5, maxRequests: 3000, maxMs: 2000, warmUpRequests: 300 };
export const QUICK_E2E: EndToEndSizes = { repetitions: 1, maxRequests: 800, maxMs: 1000, warmUpRequests: 100 };

export interface EndToEndFigure {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  completed: number;
  failed: number;
}

/** The figures of one concurrency. */
export interface ConcurrencyFigures {
  chains: Record<Chain, EndToEndFigure>;
  /** requests/s with the filter / without, median of the repetitions' ratios */
  throughputRatio: number;
}

/** Figures per concurrency. */
export type EndToEndResults = Record<string, ConcurrencyFigures>;

function startHost(chain: Chain): Promise<RunningHost> {
  return startLocalHost({
    configPath: ENVOY_CONFIG,
    pluginFolder: "build",
    // info, as a user runs it; the lines are formatted and then discarded
    logger: createLogger({ level: "info", componentLevels: {}, write: () => {} }),
    listenerPorts: { [MAIN_LISTENER]: 0, staticreply: 0 },
    adminPort: 0,
    withoutWasm: chain === "tcp_proxy",
  });
}

function startClient(): ChildProcess {
  return fork(new URL("./load-client.ts", import.meta.url), { execArgv: ["--import", "tsx"] });
}

function load(client: ChildProcess, run: LoadRun): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`load client exited with code ${code}`));
    client.once("exit", onExit);
    client.once("message", (result) => {
      client.off("exit", onExit);
      resolve(result as LoadResult);
    });
    client.send(run);
  });
}

export async function endToEnd(sizes: EndToEndSizes): Promise<EndToEndResults> {
  const hosts = { "wasm+tcp_proxy": await startHost("wasm+tcp_proxy"), tcp_proxy: await startHost("tcp_proxy") };
  const client = startClient();
  try {
    const results: EndToEndResults = {};
    for (const concurrency of CONCURRENCIES) {
      results[concurrency] = await measureConcurrency(client, hosts, concurrency, sizes);
    }
    return results;
  } finally {
    client.disconnect();
    await Promise.all(Object.values(hosts).map((host) => host.close()));
  }
}

async function measureConcurrency(
  client: ChildProcess,
  hosts: Record<Chain, RunningHost>,
  concurrency: number,
  sizes: EndToEndSizes,
): Promise<ConcurrencyFigures> {
  const runs: Record<Chain, LoadResult[]> = { "wasm+tcp_proxy": [], tcp_proxy: [] };
  for (let rep = 0; rep <= sizes.repetitions; rep++) {
    // Repetition 0 warms up both hosts (JIT, connection paths) and is not counted.
    const warmUp = rep === 0;
    const order = rep % 2 === 0 ? CHAINS : [...CHAINS].reverse();
    for (const chain of order) {
      progress(`end to end, ${concurrency} clients, ${chain}: ${warmUp ? "warm-up" : `repetition ${rep}/${sizes.repetitions}`}`);
      const host = hosts[chain];
      const run: LoadRun = {
        port: host.listenerPorts[MAIN_LISTENER],
        concurrency,
        maxRequests: warmUp ? sizes.warmUpRequests : sizes.maxRequests,
        maxMs: sizes.maxMs,
      };
      const result = await load(client, run);
      await host.whenIdle();
      if (!warmUp) runs[chain].push(result);
    }
  }
  // The two chains of a repetition ran one after the other: their ratio is spared what the
  // machine did in other repetitions.
  const ratios = runs["wasm+tcp_proxy"].map((run, i) => requestsPerSecond(run) / requestsPerSecond(runs.tcp_proxy[i]));
  return {
    chains: { "wasm+tcp_proxy": summarize(runs["wasm+tcp_proxy"]), tcp_proxy: summarize(runs.tcp_proxy) },
    throughputRatio: median(ratios),
  };
}

function requestsPerSecond(run: LoadResult): number {
  return (run.completed * 1000) / run.elapsedMs;
}

/** Throughput: the median repetition; latency percentiles: over every request of every repetition. */
function summarize(runs: LoadResult[]): EndToEndFigure {
  const latencies = runs.flatMap((run) => run.latenciesMs);
  return {
    requestsPerSecond: median(runs.map(requestsPerSecond)),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    completed: runs.reduce((sum, run) => sum + run.completed, 0),
    failed: runs.reduce((sum, run) => sum + run.failed, 0),
  };
}
