// `make bench` / `make bench-quick`: the filters (build/main.wasm, build/tcp_guard.wasm) against
// their same-calls baselines and the do-nothing baseline in the VM, the logger's costs that must
// not grow, and the logger end to end on loopback. Prints tables and writes the same figures to
// bench/results.json. Run from the project root after `make build`.

import { existsSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import { endToEnd, FULL_E2E, QUICK_E2E } from "./end-to-end.ts";
import { chunkMicros, DO_NOTHING, FILTER, FULL_SIZES, MEMORY_CHECKPOINTS, memoryAfterLifecycles, newConnectionMicros, QUICK_SIZES } from "./in-vm.ts";
import { configurePerVmMillis, deniedLookupMicros } from "./deny-list.ts";
import { FULL_PROCESSES, lifecycleFigures, QUICK_PROCESSES } from "./lifecycles.ts";
import { clearProgress } from "./measure.ts";
import { ensureBaselines } from "./modules.ts";
import { allPass, formatResults, writeResults, type Results } from "./report.ts";
import { AUTHZ_WASM, GUARD_WASM, lifecycleScenarios, LOGGER_WASM, sameCallsOf } from "./scenarios.ts";
import { loadChainSetting } from "./vm-driver.ts";

const DEBUG_WASM = "build/debug.wasm";
const RESULTS_JSON = "bench/results.json";

async function main(): Promise<void> {
  const started = performance.now();
  const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
  const quick = values.quick ?? false;
  for (const module of [LOGGER_WASM, DEBUG_WASM, GUARD_WASM]) {
    if (!existsSync(module)) throw new Error(`${module} is missing: run make build`);
  }
  const baselines = ensureBaselines();
  const setting = loadChainSetting();
  const sizes = quick ? QUICK_SIZES : FULL_SIZES;

  const scenarios = lifecycleScenarios(setting);
  const scripts = scenarios.map((scenario) => sameCallsOf(scenario, setting, baselines.sameCalls));
  const processes = quick ? QUICK_PROCESSES : FULL_PROCESSES;
  const lifecycles = await lifecycleFigures(scenarios, scripts, processes, quick);
  // The logger at info comes first among the scenarios.
  const newConnection = newConnectionMicros(setting, baselines, scripts[0].plugin, sizes);
  const chunks = chunkMicros(setting, baselines, sizes);
  const memory = memoryAfterLifecycles(setting, baselines);
  const denyList = { deniedLookup: deniedLookupMicros(setting, sizes), configureMillis: configurePerVmMillis(setting, sizes.configureRounds) };

  const results: Results = {
    mode: quick ? "quick" : "full",
    node: process.version,
    seconds: 0,
    lifecycleProcesses: processes,
    lifecycles,
    newConnection,
    chunks,
    memoryBytes: { [FILTER]: byCheckpoint(memory[FILTER]), [DO_NOTHING]: byCheckpoint(memory[DO_NOTHING]) },
    denyList,
    endToEnd: await endToEnd(quick ? QUICK_E2E : FULL_E2E),
    wasmBytes: Object.fromEntries([LOGGER_WASM, DEBUG_WASM, GUARD_WASM, AUTHZ_WASM, baselines.sameCalls, baselines.doNothing].map((m) => [m, statSync(m).size])),
  };
  results.seconds = Math.round((performance.now() - started) / 1000);
  clearProgress();
  console.log(formatResults(results));
  writeResults(RESULTS_JSON, results);
  console.log(`\n${allPass(results) ? "every target PASS" : "some target MISSED"}; ${results.seconds} s; written to ${RESULTS_JSON}`);
}

function byCheckpoint(bytes: number[]): Record<string, number> {
  return Object.fromEntries(MEMORY_CHECKPOINTS.map((checkpoint, i) => [String(checkpoint), bytes[i]]));
}

await main();
