// `make bench` / `make bench-quick`: the filters (build/main.wasm, build/tcp_guard.wasm) against
// their same-calls baselines and the do-nothing baseline in the VM, the logger's costs that must
// not grow, and the logger end to end on loopback. Prints tables and writes the same figures to
// bench/results.json. Run from the project root after `make build`.

import { existsSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { endToEnd, FULL_E2E, QUICK_E2E } from "./end-to-end.ts";
import {
  chunkMicros, DO_NOTHING, FILTER, FULL_SIZES, lifecycleMicros, MEMORY_CHECKPOINTS, memoryAfterLifecycles, newConnectionMicros, QUICK_SIZES,
} from "./in-vm.ts";
import { configurePerVmMillis, deniedLookupMicros } from "./deny-list.ts";
import { clearProgress } from "./measure.ts";
import { ensureBaselines } from "./modules.ts";
import { allPass, formatResults, writeResults, type LifecycleFigure, type Results } from "./report.ts";
import { AUTHZ_WASM, authzScenario, GUARD_WASM, guardScenarios, LOGGER_LEVELS, LOGGER_WASM, loggerScenario, sameCallsOf } from "./scenarios.ts";
import { loadChainSetting } from "./vm-driver.ts";

const DEBUG_WASM = "build/debug.wasm";
const RESULTS_JSON = "bench/results.json";

// Every module is compiled by V8's optimizing compiler before it runs: otherwise a module runs its
// baseline code until the optimized code is ready, which on a busy 2-core machine can take
// seconds, and a figure could catch one subject before and another after.
setFlagsFromString("--no-liftoff");

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

  const scenarios = [...LOGGER_LEVELS.map(([level, name]) => loggerScenario(setting, level, name)), ...guardScenarios(setting), authzScenario(setting)];
  const scripts = scenarios.map((scenario) => sameCallsOf(scenario, setting, baselines.sameCalls));
  const lifecycles: LifecycleFigure[] = scenarios.map((scenario, i) => {
    const sameCalls = scripts[i];
    const timing = lifecycleMicros(scenario, setting, baselines, sameCalls.plugin, sizes);
    return {
      scenario: scenario.name,
      hostCalls: sameCalls.calls,
      micros: timing.micros,
      overSameCalls: timing.ratios[FILTER],
      overDoNothing: timing.overDoNothing,
    };
  });
  // The logger at info comes first among the scenarios.
  const newConnection = newConnectionMicros(setting, baselines, scripts[0].plugin, sizes);
  const chunks = chunkMicros(setting, baselines, sizes);
  const memory = memoryAfterLifecycles(setting, baselines);
  const denyList = { deniedLookup: deniedLookupMicros(setting, sizes), configureMillis: configurePerVmMillis(setting, sizes.configureRounds) };

  const results: Results = {
    mode: quick ? "quick" : "full",
    node: process.version,
    seconds: 0,
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
