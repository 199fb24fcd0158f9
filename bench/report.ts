// The benchmark's figures as one record: checked against the targets, printed as tables, and
// written as JSON (bench/results.json) with the same numbers.

import { writeFileSync } from "node:fs";
import { FEW_RANGES, MANY_RANGES, TENTH_RANGES } from "./deny-list.ts";
import type { EndToEndResults } from "./end-to-end.ts";
import { DO_NOTHING, FILTER, SAME_CALLS, type Timing } from "./in-vm.ts";

/** One scenario's lifecycle: its host calls, µs per subject, and the filter's ratios. */
export interface LifecycleFigure {
  /** e.g. `logger, log info` */
  scenario: string;
  /** `callback: call` for every host call of one connection, in order (host-calls.ts) */
  hostCalls: string[];
  /** subject (filter, same calls, do nothing) → µs, the median over the processes */
  micros: Record<string, number>;
  /** filter / same-calls baseline: the median over the processes of each one's median ratio */
  overSameCalls: number;
  /** each process's ratio, in the order they ran */
  overSameCallsByProcess: number[];
  /** filter / do-nothing baseline, likewise */
  overDoNothing: number;
}

export interface Results {
  mode: "full" | "quick";
  node: string;
  /** seconds the whole run took */
  seconds: number;
  /** processes the lifecycle figures were taken in (lifecycles.ts) */
  lifecycleProcesses: number;
  lifecycles: LifecycleFigure[];
  /** the logger at info, per subject: µs by number of open connections, ratios to 1 open */
  newConnection: Record<string, Timing>;
  /** the logger at info, per subject: µs by chunk size in bytes, ratios to 100 B */
  chunks: Record<string, Timing>;
  /** linear memory in bytes after so many lifecycles, per subject */
  memoryBytes: Record<string, Record<string, number>>;
  /** tcp_guard with long deny_sources lists */
  denyList: {
    /** µs per refused connection by number of ranges, ratios to FEW_RANGES */
    deniedLookup: Timing;
    /** median ms of one VM's proxy_on_configure, by number of ranges */
    configureMillis: Record<string, number>;
  };
  endToEnd: EndToEndResults;
  /** module sizes in bytes */
  wasmBytes: Record<string, number>;
}

interface Target {
  name: string;
  value: number;
  /** how the value compares to the limit, as printed */
  rule: string;
  pass: boolean;
}

/** The largest module the project ships (tests/helpers/envoy-module.ts checks the same). */
export const MAX_MODULE_BYTES = 40 * 1024;
/** A filter's time per connection over its same-calls baseline's: its own work in the VM. */
const OWN_WORK_LIMIT = 1.3;
/**
 * The same, tighter, per scenario: tcp_guard written with the proxy-wasm Rust SDK (v0.2.1,
 * opt-level 3, LTO) measured 1.08 allowed and 1.01 denied in this driver (bench/README.md).
 */
const OWN_WORK_LIMITS: Record<string, number> = {
  "logger, log info": 1.1,
  "tcp_guard, allowed": 1.06,
  "tcp_guard, denied": 1.03,
};
/** tcp_guard's time per connection over the do-nothing baseline's, host calls included. */
const GUARD_LIMIT = 8;
/** A refused connection among MANY_RANGES over among FEW_RANGES: the lookup does not grow with the list. */
const LOOKUP_GROWTH_LIMIT = 1.2;
/** One VM's proxy_on_configure with MANY_RANGES ranges, ms. */
const CONFIGURE_LIMIT_MS = 1000;

function atMost(name: string, value: number, limit: number): Target {
  return { name, value, rule: `<= ${limit}`, pass: value <= limit };
}

function targets(r: Results): Target[] {
  const list: Target[] = [];
  for (const figure of r.lifecycles) {
    list.push(atMost(`${figure.scenario}: / same calls`, figure.overSameCalls, OWN_WORK_LIMITS[figure.scenario] ?? OWN_WORK_LIMIT));
    if (figure.scenario.startsWith("tcp_guard")) list.push(atMost(`${figure.scenario}: / do nothing`, figure.overDoNothing, GUARD_LIMIT));
  }
  list.push(atMost("new connection, 10,000 open / 1 open", r.newConnection[FILTER].ratios["10000"], 1.2));
  list.push(atMost("downstream chunk, 1 MiB / 100 B", r.chunks[FILTER].ratios[String(1024 * 1024)], 2));
  const memory = r.memoryBytes[FILTER]["100000"] / r.memoryBytes[FILTER]["1000"];
  list.push({ name: "memory, 100,000 / 1,000 lifecycles", value: memory, rule: "== 1", pass: memory === 1 });
  list.push(atMost(`tcp_guard denied, ${count(MANY_RANGES)} ranges / ${count(FEW_RANGES)}`, r.denyList.deniedLookup.ratios[MANY_RANGES], LOOKUP_GROWTH_LIMIT));
  list.push(atMost(`tcp_guard configure, ${count(MANY_RANGES)} ranges, ms per VM`, r.denyList.configureMillis[MANY_RANGES], CONFIGURE_LIMIT_MS));
  for (const module of ["build/main.wasm", "build/tcp_guard.wasm", "build/tcp_authz.wasm"]) {
    list.push({ name: `${module}, KiB`, value: r.wasmBytes[module] / 1024, rule: `<= ${MAX_MODULE_BYTES / 1024}`, pass: r.wasmBytes[module] <= MAX_MODULE_BYTES });
  }
  for (const [concurrency, figures] of Object.entries(r.endToEnd)) {
    const ratio = figures.throughputRatio;
    list.push({ name: `end to end, ${concurrency} clients, with / without wasm`, value: ratio, rule: ">= 0.7", pass: ratio >= 0.7 });
  }
  return list;
}

export function allPass(r: Results): boolean {
  return targets(r).every((t) => t.pass);
}

export function writeResults(path: string, r: Results): void {
  writeFileSync(path, JSON.stringify({ ...r, targets: targets(r) }, null, 2) + "\n");
}

/** 100000 → `100,000` */
function count(value: number): string {
  return value.toLocaleString("en-US");
}

type Row = string[];

function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

function table(title: string, header: Row, rows: Row[]): string {
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i].length)));
  const line = (row: Row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  return [title, line(header), ...rows.map(line)].join("\n");
}

/** The callbacks in a connection's order, as the trace names them. */
const CALLBACKS = ["new_connection", "downstream_data", "upstream_data", "upstream_connection_close", "downstream_connection_close", "done"];

/** Host calls per callback and scenario, counted over one lifecycle. */
function hostCallTable(lifecycles: LifecycleFigure[]): string {
  const count = (figure: LifecycleFigure, callback: string | null) =>
    String(figure.hostCalls.filter((call) => callback === null || call.startsWith(`${callback}: `)).length);
  return table("Host calls per lifecycle (from a trace; the same-calls baseline makes exactly these)",
    ["", ...lifecycles.map((f) => f.scenario.replace(", log ", " "))], [
      ...CALLBACKS.map((callback) => [callback, ...lifecycles.map((f) => count(f, callback))]),
      ["total", ...lifecycles.map((f) => count(f, null))],
    ]);
}

/** Per condition, each subject's µs and ratio to the first condition ("-" for a subject not measured). */
function conditionRows(label: (condition: string) => string, timing: Record<string, Timing>): Row[] {
  return Object.keys(timing[FILTER].micros).map((condition) => [
    label(condition),
    ...[FILTER, SAME_CALLS, DO_NOTHING].flatMap((subject) => {
      const measured = timing[subject];
      return measured === undefined ? ["-", "-"] : [fixed(measured.micros[condition]), fixed(measured.ratios[condition])];
    }),
  ]);
}

export function formatResults(r: Results): string {
  const sections = [
    table(`Lifecycle in the VM, no sockets (${r.mode}, node ${r.node}): µs per connection, median of ${r.lifecycleProcesses} processes`,
      ["", "filter", "same calls", "do nothing", "/ same calls", "processes' range", "/ do nothing"],
      r.lifecycles.map((f) => [
        f.scenario, fixed(f.micros[FILTER]), fixed(f.micros[SAME_CALLS]), fixed(f.micros[DO_NOTHING]), fixed(f.overSameCalls),
        `${fixed(Math.min(...f.overSameCallsByProcess))}-${fixed(Math.max(...f.overSameCallsByProcess))}`, fixed(f.overDoNothing),
      ])),
    hostCallTable(r.lifecycles),
    table("The logger at info: µs per operation, median of repetitions; ratio to 1 open, to 100 B",
      ["", "logger", "ratio", "same calls", "ratio", "do nothing", "ratio"], [
        ...conditionRows((open) => `new connection, ${open} open`, r.newConnection),
        ...conditionRows((size) => `downstream chunk ${size} B`, r.chunks),
      ]),
    table("tcp_guard with a long deny_sources (the refused source's range last): median of repetitions",
      ["ranges", "µs per refused connection", "ratio", "ms per VM's configure"],
      [FEW_RANGES, TENTH_RANGES, MANY_RANGES].map((ranges) => {
        const { micros, ratios } = r.denyList.deniedLookup;
        const configure = r.denyList.configureMillis[ranges];
        return [
          count(ranges),
          micros[ranges] === undefined ? "-" : fixed(micros[ranges]),
          ratios[ranges] === undefined ? "-" : fixed(ratios[ranges]),
          configure === undefined ? "-" : fixed(configure, 1),
        ];
      })),
    table("Linear memory of the worker VM, bytes", ["after lifecycles", "logger", "do nothing"],
      Object.keys(r.memoryBytes[FILTER]).map((n) => [n, String(r.memoryBytes[FILTER][n]), String(r.memoryBytes[DO_NOTHING][n])])),
    table("End to end on loopback, listener main, one POST per connection", ["clients, chain", "req/s", "p50 ms", "p99 ms", "failed"],
      Object.entries(r.endToEnd).flatMap(([concurrency, figures]) =>
        Object.entries(figures.chains).map(([chain, f]) => [
          `${concurrency}, ${chain}`, fixed(f.requestsPerSecond, 0), fixed(f.p50Ms), fixed(f.p99Ms), String(f.failed),
        ]))),
    table("Module sizes, bytes", ["module", "bytes"], Object.entries(r.wasmBytes).map(([module, bytes]) => [module, String(bytes)])),
    table("Targets", ["", "value", "target", ""], targets(r).map((t) => [t.name, fixed(t.value), t.rule, t.pass ? "PASS" : "MISS"])),
  ];
  return sections.join("\n\n");
}
