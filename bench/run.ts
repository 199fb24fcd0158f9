// `make bench` / `make bench-quick`: the plugin (build/main.wasm) against the do-nothing
// baseline (bench/build/baseline.wasm), in the VM and end to end on loopback. Prints a table and
// writes the same figures to bench/results.json. Run from the project root after `make build`.

import { existsSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import { ensureBaseline } from "./baseline.ts";
import { endToEnd, FULL_E2E, QUICK_E2E } from "./end-to-end.ts";
import {
  CHUNK_SIZES, chunkMicros, closePair, FULL_SIZES, lifecycleMicros, MEMORY_CHECKPOINTS, memoryAfterLifecycles, newConnectionMicros,
  OPEN_COUNTS, QUICK_SIZES, startPair, type Compared, type Modules,
} from "./in-vm.ts";
import { clearProgress } from "./measure.ts";
import { formatResults, writeResults, type Results } from "./report.ts";
import { loadChainSetting } from "./vm-driver.ts";

const MAIN_WASM = "build/main.wasm";
const DEBUG_WASM = "build/debug.wasm";
const RESULTS_JSON = "bench/results.json";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
  const quick = values.quick ?? false;
  for (const module of [MAIN_WASM, DEBUG_WASM]) {
    if (!existsSync(module)) throw new Error(`${module} is missing: run make build`);
  }
  const modules: Modules = { plugin: MAIN_WASM, baseline: ensureBaseline() };
  const setting = loadChainSetting();
  const sizes = quick ? QUICK_SIZES : FULL_SIZES;

  const logging = startPair(setting, modules, "info");
  const lifecycleInfo = lifecycleMicros(logging, sizes, "info");
  const newConnection: Record<string, Compared> = {};
  for (const open of OPEN_COUNTS) newConnection[open] = newConnectionMicros(logging, sizes, open);
  const chunk: Record<string, Compared> = {};
  for (const size of CHUNK_SIZES) chunk[size] = chunkMicros(logging, sizes, size);
  closePair(logging);
  const silent = startPair(setting, modules, "off");
  const lifecycleOff = lifecycleMicros(silent, sizes, "off");
  closePair(silent);
  const memory = memoryAfterLifecycles(setting, modules);

  const results: Results = {
    mode: quick ? "quick" : "full",
    node: process.version,
    lifecycleMicros: {
      info: lifecycleInfo,
      off: lifecycleOff,
    },
    newConnectionMicros: newConnection,
    chunkMicros: chunk,
    memoryBytes: { plugin: byCheckpoint(memory.plugin), baseline: byCheckpoint(memory.baseline) },
    endToEnd: await endToEnd(quick ? QUICK_E2E : FULL_E2E),
    wasmBytes: { main: statSync(MAIN_WASM).size, debug: statSync(DEBUG_WASM).size, baseline: statSync(modules.baseline).size },
  };
  clearProgress();
  console.log(formatResults(results));
  writeResults(RESULTS_JSON, results);
  console.log(`\nwritten to ${RESULTS_JSON}`);
}

function byCheckpoint(bytes: number[]): Record<string, number> {
  return Object.fromEntries(MEMORY_CHECKPOINTS.map((checkpoint, i) => [String(checkpoint), bytes[i]]));
}

await main();
