// One process of the lifecycle figures (lifecycles.ts starts several, one after the other): every
// scenario on VMs of its own, its figures sent to the parent. Run with `--quick` for the short
// sizes, `--turn N` for the order its VMs are created in (in-vm.ts, lifecycleMicros) and `--of M`
// for the number of processes, which its progress line shows.

import { parseArgs } from "node:util";
import { FILTER, FULL_SIZES, lifecycleMicros, QUICK_SIZES } from "./in-vm.ts";
import type { ProcessFigure } from "./lifecycles.ts";
import { setProgressPrefix } from "./measure.ts";
import { ensureBaselines } from "./modules.ts";
import { lifecycleScenarios, sameCallsOf } from "./scenarios.ts";
import { loadChainSetting } from "./vm-driver.ts";

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, turn: { type: "string", default: "0" }, of: { type: "string", default: "1" } },
});
setProgressPrefix(`lifecycles, process ${Number(values.turn) + 1}/${values.of}: `);
const sizes = values.quick ? QUICK_SIZES : FULL_SIZES;
// The process loads the setting and traces each same-calls script itself, as the parent did
// (about 0.3 s). With the setting and the scripts sent by the parent as JSON instead, tcp_authz
// came out at 1.37 over its baseline in a quick run (its processes 1.13 to 1.42); with the
// setting loaded here and only the scripts sent, 1.28 in two runs, as usual. Objects parsed from
// JSON have other shapes than those the local host makes from envoy.yaml, and V8 optimizes the
// host's code for the shapes it sees.
const baselines = ensureBaselines();
const setting = loadChainSetting();
const figures: ProcessFigure[] = lifecycleScenarios(setting).map((scenario) => {
  const sameCalls = sameCallsOf(scenario, setting, baselines.sameCalls);
  const timing = lifecycleMicros(scenario, setting, baselines, sameCalls.plugin, sizes, Number(values.turn));
  return { scenario: scenario.name, micros: timing.micros, overSameCalls: timing.ratios[FILTER], overDoNothing: timing.overDoNothing };
});
process.send!(figures);
