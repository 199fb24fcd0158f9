// The benchmark's figures as one record: checked against the targets, printed as a table, and
// written as JSON (bench/results.json) with the same numbers.

import { writeFileSync } from "node:fs";
import type { Chain, EndToEndResults } from "./end-to-end.ts";
import type { Compared } from "./in-vm.ts";

export interface Results {
  mode: "full" | "quick";
  node: string;
  /** µs per connection lifecycle, by log level */
  lifecycleMicros: Record<"info" | "off", Compared>;
  /** µs per new connection, by number of open connections */
  newConnectionMicros: Record<string, Compared>;
  /** µs per downstream chunk, by chunk size in bytes */
  chunkMicros: Record<string, Compared>;
  /** linear memory in bytes after so many lifecycles */
  memoryBytes: Record<keyof Compared, Record<string, number>>;
  endToEnd: EndToEndResults;
  /** module sizes in bytes */
  wasmBytes: { main: number; debug: number; baseline: number };
}

interface Target {
  name: string;
  value: number;
  /** how the value compares to the limit, as printed */
  rule: string;
  pass: boolean;
}

function targets(r: Results): Target[] {
  const lifecycle = r.lifecycleMicros.info.plugin / r.lifecycleMicros.info.baseline;
  const open = r.newConnectionMicros["10000"].plugin / r.newConnectionMicros["1"].plugin;
  const chunk = r.chunkMicros[String(1024 * 1024)].plugin / r.chunkMicros["100"].plugin;
  const memory = r.memoryBytes.plugin["100000"] / r.memoryBytes.plugin["1000"];
  const list: Target[] = [
    { name: "lifecycle, plugin / baseline (log info)", value: lifecycle, rule: "<= 1.5", pass: lifecycle <= 1.5 },
    { name: "new connection, 10,000 open / 1 open", value: open, rule: "<= 1.2", pass: open <= 1.2 },
    { name: "downstream chunk, 1 MiB / 100 B", value: chunk, rule: "<= 2", pass: chunk <= 2 },
    { name: "memory, 100,000 / 1,000 lifecycles", value: memory, rule: "== 1", pass: memory === 1 },
  ];
  for (const [concurrency, chains] of Object.entries(r.endToEnd)) {
    const ratio = throughputRatio(chains);
    list.push({ name: `end to end, ${concurrency} clients, with / without wasm`, value: ratio, rule: ">= 0.7", pass: ratio >= 0.7 });
  }
  return list;
}

function throughputRatio(chains: Record<Chain, { requestsPerSecond: number }>): number {
  return chains["wasm+tcp_proxy"].requestsPerSecond / chains.tcp_proxy.requestsPerSecond;
}

export function writeResults(path: string, r: Results): void {
  writeFileSync(path, JSON.stringify({ ...r, targets: targets(r) }, null, 2) + "\n");
}

type Row = string[];

function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

function comparedRow(label: string, c: Compared, ratio: number, ratioLabel: string): Row {
  return [label, fixed(c.plugin), fixed(c.baseline), `${fixed(ratio)} ${ratioLabel}`];
}

function table(title: string, header: Row, rows: Row[]): string {
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i].length)));
  const line = (row: Row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  return [title, line(header), ...rows.map(line)].join("\n");
}

export function formatResults(r: Results): string {
  const life = r.lifecycleMicros;
  const open1 = r.newConnectionMicros["1"].plugin;
  const chunk100 = r.chunkMicros["100"].plugin;
  const sections = [
    table(`In the VM, no sockets (${r.mode}, node ${r.node}), µs per operation, median of repetitions`,
      ["", "plugin", "baseline", "ratio"], [
        comparedRow("lifecycle, log info", life.info, life.info.plugin / life.info.baseline, "x baseline"),
        comparedRow("lifecycle, log off", life.off, life.off.plugin / life.off.baseline, "x baseline"),
        ...Object.entries(r.newConnectionMicros).map(([open, c]) =>
          comparedRow(`new connection, ${open} open`, c, c.plugin / open1, "x 1 open")),
        ...Object.entries(r.chunkMicros).map(([size, c]) =>
          comparedRow(`downstream chunk ${size} B`, c, c.plugin / chunk100, "x 100 B")),
      ]),
    table("Linear memory of the worker VM, bytes", ["after lifecycles", "plugin", "baseline"],
      Object.keys(r.memoryBytes.plugin).map((n) => [n, String(r.memoryBytes.plugin[n]), String(r.memoryBytes.baseline[n])])),
    table("End to end on loopback, listener main, one POST per connection", ["clients, chain", "req/s", "p50 ms", "p99 ms", "failed"],
      Object.entries(r.endToEnd).flatMap(([concurrency, chains]) =>
        Object.entries(chains).map(([chain, f]) => [
          `${concurrency}, ${chain}`, fixed(f.requestsPerSecond, 0), fixed(f.p50Ms), fixed(f.p99Ms), String(f.failed),
        ]))),
    table("Module sizes, bytes", ["module", "bytes"], [
      ["build/main.wasm", String(r.wasmBytes.main)],
      ["build/debug.wasm", String(r.wasmBytes.debug)],
      ["bench/build/baseline.wasm", String(r.wasmBytes.baseline)],
    ]),
    table("Targets", ["", "value", "target", ""],
      targets(r).map((t) => [t.name, fixed(t.value), t.rule, t.pass ? "PASS" : "MISS"])),
  ];
  return sections.join("\n\n");
}
