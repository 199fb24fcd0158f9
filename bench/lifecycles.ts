// The lifecycle figures, each taken in several fresh processes and the median kept. Within one
// process a VM's speed can sit a few percent above or below another's running the same module
// (where it stands in the order the VMs were created, and what ran before it in the process,
// both matter: bench/README.md), which is more than the tighter targets' margins; a new process
// makes new VMs, so the median over processes measures the filter, not one process's luck.

import { fork } from "node:child_process";
import { median, progress } from "./measure.ts";
import type { LifecycleFigure } from "./report.ts";
import type { SameCalls, Scenario } from "./scenarios.ts";

/** Processes for `make bench` and for `make bench-quick`. */
export const FULL_PROCESSES = 7;
export const QUICK_PROCESSES = 5;

/** What one process (lifecycle-process.ts) measures of one scenario. */
export interface ProcessFigure {
  scenario: string;
  /** subject → median µs over the process's rounds */
  micros: Record<string, number>;
  overSameCalls: number;
  overDoNothing: number;
}

/** Runs lifecycle-process.ts once; resolves with what it sends. */
function runProcess(quick: boolean, turn: number, processes: number): Promise<ProcessFigure[]> {
  const args = [...(quick ? ["--quick"] : []), "--turn", String(turn), "--of", String(processes)];
  const child = fork(new URL("./lifecycle-process.ts", import.meta.url), args, { execArgv: ["--import", "tsx"] });
  return new Promise((resolve, reject) => {
    let figures: ProcessFigure[] | null = null;
    child.once("message", (message) => (figures = message as ProcessFigure[]));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (figures !== null && code === 0) resolve(figures);
      else reject(new Error(`bench/lifecycle-process.ts (turn ${turn}) exited with code ${code} before sending its figures`));
    });
  });
}

/**
 * Every scenario's figures over `processes` processes, one after the other (side by side they
 * would share the cores), process k creating its VMs in turn k's order: µs and ratios are the
 * medians of the processes' own medians, and each process's ratio to the same-calls baseline is
 * kept. `sameCalls[i]` is scenario i's script, whose host calls the tables list.
 */
export async function lifecycleFigures(scenarios: Scenario[], sameCalls: SameCalls[], processes: number, quick: boolean): Promise<LifecycleFigure[]> {
  const runs: ProcessFigure[][] = [];
  for (let turn = 0; turn < processes; turn++) {
    progress(`lifecycles, process ${turn + 1}/${processes}: starting`);
    runs.push(await runProcess(quick, turn, processes));
  }
  return scenarios.map((scenario, i) => {
    const taken = runs.map((figures) => {
      const figure = figures.find((f) => f.scenario === scenario.name);
      if (figure === undefined) throw new Error(`a lifecycle process did not measure '${scenario.name}'`);
      return figure;
    });
    const subjects = Object.keys(taken[0].micros);
    return {
      scenario: scenario.name,
      hostCalls: sameCalls[i].calls,
      micros: Object.fromEntries(subjects.map((subject) => [subject, median(taken.map((f) => f.micros[subject]))])),
      overSameCalls: median(taken.map((f) => f.overSameCalls)),
      overSameCallsByProcess: taken.map((f) => f.overSameCalls),
      overDoNothing: median(taken.map((f) => f.overDoNothing)),
    };
  });
}
