// make docs-check: every block of README.md, docs/*.md, bench/README.md and examples/*/README.md
// that shows commands and their output (a fence without a language whose first line is `$ ...`)
// is run again and compared with what the page says, ignoring timestamps and dates, ports,
// durations and trailing spaces. The marker on the line before a block says how to run it
// (`<!-- docs-check: run -->`, `host config=FILE`, `file=PATH tutorial=NAME`, `make-test`, `slow`,
// `shape`, `before:` lines), or a visible `*Not checked by make docs-check: <reason>.*` says why
// it is not: docs/tests.md, "The docs", describes each.
//   npx tsx scripts/docs-check.ts [--quick] [FILE.md...]
// --quick runs only the blocks marked make-test. Exit 1 on any difference.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

export const ROOT = new URL("..", import.meta.url).pathname;
const NOT_CHECKED = /^\*Not checked by make docs-check: (.+)\*$/;
const MARKER_START = "<!-- docs-check:";
/** envoy.yaml's ports, as every configuration of the project has them */
const CONFIG_PORTS = { main: 18000, staticreply: 8099, admin: 8001 } as const;
/** how long a command, or the host's start-up, may take before it counts as a failure */
const COMMAND_TIMEOUT_MS = 600_000;
const HOST_START_TIMEOUT_MS = 60_000;
/** how long to wait for the host's lines a block shows after a command's output */
const HOST_LINES_TIMEOUT_MS = 15_000;
const HOST_READY_LINE = "all dependencies initialized. starting workers";

export interface Marker {
  mode: "run" | "host" | "file";
  config?: string;
  file?: string;
  tutorial?: string;
  wasmLogLevel?: string;
  slow: boolean;
  shape: boolean;
  /** make test runs it too */
  makeTest: boolean;
  before: string[];
}

export interface Block {
  page: string;
  /** 1-based line of the opening fence */
  line: number;
  language: string;
  lines: string[];
  /** the marker before it, "not checked" with its reason, or undefined */
  marker: Marker | { notChecked: string } | undefined;
  /** a marker that could not be read: its error */
  markerError?: string;
}

/** The pages whose output blocks are checked, relative to the project. */
export function pages(): string[] {
  const found = ["README.md", "bench/README.md"];
  for (const name of readdirSync(join(ROOT, "docs")).sort()) if (name.endsWith(".md")) found.push(`docs/${name}`);
  if (existsSync(join(ROOT, "examples/README.md"))) found.push("examples/README.md");
  for (const name of readdirSync(join(ROOT, "examples")).sort()) {
    if (existsSync(join(ROOT, "examples", name, "README.md"))) found.push(`examples/${name}/README.md`);
  }
  return found;
}

export function parseMarker(text: string): Marker {
  const [first, ...rest] = text.split("\n");
  const marker: Marker = { mode: "run", slow: false, shape: false, makeTest: false, before: [] };
  const words = first.trim().split(/\s+/).filter((word) => word !== "");
  for (const word of words) {
    const [key, value] = word.includes("=") ? [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)] : [word, ""];
    if (key === "run" || key === "host") marker.mode = key;
    else if (key === "slow") marker.slow = true;
    else if (key === "shape") marker.shape = true;
    else if (key === "make-test") marker.makeTest = true;
    else if (key === "config" && value !== "") marker.config = value;
    else if (key === "file" && value !== "") [marker.mode, marker.file] = ["file", value];
    else if (key === "tutorial" && value !== "") marker.tutorial = value;
    else if (key === "wasm-log-level" && value !== "") marker.wasmLogLevel = value;
    else throw new Error(`unknown word "${word}" (run, host, file=, config=, tutorial=, wasm-log-level=, slow, shape, make-test)`);
  }
  for (const line of rest) {
    if (line.trim() === "") continue;
    if (!line.startsWith("before: ")) throw new Error(`unknown line "${line}" (before: COMMAND)`);
    marker.before.push(line.slice("before: ".length));
  }
  if (marker.mode === "host" && marker.config === undefined) throw new Error("a host block needs config=FILE");
  if (marker.mode === "file" && marker.tutorial === undefined) throw new Error("a file block needs tutorial=NAME");
  if (marker.makeTest && (marker.slow || marker.tutorial !== undefined)) throw new Error("make-test is for a quick block: not slow, not in a tutorial");
  return marker;
}

/** Every fenced block of a page, with the marker on the line before it. */
export function blocksOf(page: string): Block[] {
  const text = readFileSync(join(ROOT, page), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < text.length; i++) {
    const open = /^```(\S*)\s*$/.exec(text[i]);
    if (open === null) continue;
    let end = i + 1;
    while (end < text.length && text[end] !== "```") end++;
    const block: Block = { page, line: i + 1, language: open[1], lines: text.slice(i + 1, end), marker: undefined };
    const previous = i > 0 ? text[i - 1] : "";
    const notChecked = NOT_CHECKED.exec(previous);
    if (notChecked !== null) block.marker = { notChecked: notChecked[1] };
    if (previous.endsWith("-->")) {
      let start = i - 1;
      while (start > 0 && !text[start].includes("<!--")) start--;
      const comment = text.slice(start, i).join("\n");
      if (comment.startsWith(MARKER_START)) {
        try {
          block.marker = parseMarker(comment.slice(MARKER_START.length, comment.lastIndexOf("-->")));
        } catch (error) {
          block.markerError = (error as Error).message;
        }
      }
    }
    blocks.push(block);
    i = end;
  }
  return blocks;
}

/** A block of commands and their output: no language, first line `$ ...`. */
export function isOutputBlock(block: Block): boolean {
  return block.language === "" && block.lines.length > 0 && block.lines[0].startsWith("$ ");
}

/** What is wrong with the markers of these pages: one line each, `page:line: ...`. */
export function markerProblems(pageList: string[]): string[] {
  const problems: string[] = [];
  for (const page of pageList) {
    for (const block of blocksOf(page)) {
      const where = `${page}:${block.line}`;
      if (block.markerError !== undefined) problems.push(`${where}: docs-check marker: ${block.markerError}`);
      else if (isOutputBlock(block) && block.marker === undefined) {
        problems.push(`${where}: an output block without a <!-- docs-check: ... --> marker or a "*Not checked by make docs-check: <reason>.*" line before it`);
      } else if (block.marker !== undefined && "mode" in block.marker) {
        const marker = block.marker;
        if (marker.mode !== "file" && !isOutputBlock(block)) problems.push(`${where}: a ${marker.mode} marker on a block that does not start with "$ "`);
        if (marker.config !== undefined && marker.tutorial === undefined && !existsSync(join(ROOT, marker.config))) problems.push(`${where}: config=${marker.config}: no such file`);
      }
    }
  }
  return problems;
}

// --- links ------------------------------------------------------------------------------------

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes. */
export function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  let fenced = false;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (fenced || heading === null) continue;
    const anchor = anchorOf(heading[1]);
    const seen = counts.get(anchor) ?? 0;
    anchors.add(seen === 0 ? anchor : `${anchor}-${seen}`);
    counts.set(anchor, seen + 1);
  }
  return anchors;
}

/** Relative links of these pages whose file or heading does not exist: `page:line: ...`. */
export function linkProblems(pageList: string[]): string[] {
  const problems: string[] = [];
  for (const page of pageList) {
    let fenced = false;
    readFileSync(join(ROOT, page), "utf8").split("\n").forEach((line, index) => {
      if (line.startsWith("```")) fenced = !fenced;
      if (fenced) return;
      for (const match of line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1];
        if (/^[a-z]+:/.test(target)) continue;
        const [path, anchor] = target.split("#");
        const file = path === "" ? join(ROOT, page) : join(ROOT, dirname(page), path);
        if (!existsSync(file)) problems.push(`${page}:${index + 1}: ${target}: no such file`);
        else if (anchor !== undefined && file.endsWith(".md") && !anchorsOf(file).has(anchor)) {
          problems.push(`${page}:${index + 1}: ${target}: no heading #${anchor} in ${relative(ROOT, file)}`);
        }
      }
    });
  }
  return problems;
}

// --- comparing output -------------------------------------------------------------------------

/** A line with what differs from run to run replaced by placeholders. */
export function normalized(line: string, shape: boolean): string {
  let text = line
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?/g, "<time>")
    .replace(/\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT/g, "<date>")
    .replace(/\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} +(\d\d:\d\d|\d{4})\b/g, "<date>")
    .replace(/\b((?:\d{1,3}\.){3}\d{1,3}|localhost|\[[0-9a-f:]*\]):\d+/g, "$1:<port>")
    .replace(/(PROXY TCP[46] \S+ \S+) \d+ \d+/g, "$1 <port> <port>")
    .replace(/\bport \d+/g, "port <port>")
    .replace(/\b\d+(\.\d+)? ?(ms|µs|milliseconds)\b/g, "<duration>")
    .replace(/\bduration_ms [\d.]+/g, "duration_ms <duration>")
    .trimEnd();
  // By shape: the figures, the spaces that align them and the verdicts drawn from them may change.
  if (shape) {
    text = text
      .replace(/\b(every target PASS|some target MISSED)\b/g, "<verdict>")
      .replace(/\b(PASS|MISS)\b/g, "<verdict>")
      .replace(/\d[\d,.]*/g, "<n>")
      .replace(/\s+/g, " ");
  }
  return text;
}

/** The first difference between what the page shows and what ran, or undefined. */
export function difference(expected: string[], actual: string[], shape: boolean): string | undefined {
  const length = Math.max(expected.length, actual.length);
  for (let i = 0; i < length; i++) {
    const want = expected[i];
    const got = actual[i];
    if (want !== undefined && got !== undefined && normalized(want, shape) === normalized(got, shape)) continue;
    return `line ${i + 1} of its output:\n    page: ${want === undefined ? "(nothing more)" : want}\n    run:  ${got === undefined ? "(nothing more)" : got}`;
  }
  return undefined;
}

/** A block's commands, each with the output lines the page shows for it. */
export function sectionsOf(lines: string[]): Array<{ command: string; output: string[] }> {
  const sections: Array<{ command: string; output: string[] }> = [];
  for (const line of lines) {
    if (line.startsWith("$ ")) sections.push({ command: line.slice(2), output: [] });
    else sections.at(-1)?.output.push(line);
  }
  return sections;
}

// --- running ----------------------------------------------------------------------------------

type Ports = { main: number; staticreply: number; admin: number };

async function freePorts(): Promise<Ports> {
  const servers: Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    ports.push((server.address() as { port: number }).port);
  }
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return { main: ports[0], staticreply: ports[1], admin: ports[2] };
}

function withPorts(text: string, ports: Ports): string {
  return text
    .replace(new RegExp(`\\b${CONFIG_PORTS.main}\\b`, "g"), String(ports.main))
    .replace(new RegExp(`\\b${CONFIG_PORTS.staticreply}\\b`, "g"), String(ports.staticreply))
    .replace(new RegExp(`\\b${CONFIG_PORTS.admin}\\b`, "g"), String(ports.admin));
}

function withConfigPorts(text: string, ports: Ports): string {
  return text
    .replaceAll(String(ports.main), String(CONFIG_PORTS.main))
    .replaceAll(String(ports.staticreply), String(CONFIG_PORTS.staticreply))
    .replaceAll(String(ports.admin), String(CONFIG_PORTS.admin));
}

/**
 * A home for curl whose .curlrc turns off the progress meter, which curl shows only when its
 * output is not a terminal: the pages show what a terminal shows.
 */
let curlHome: string | undefined;
function terminalCurlHome(): string {
  if (curlHome === undefined) {
    curlHome = mkdtempSync(join(tmpdir(), "docs-check-curl-"));
    writeFileSync(join(curlHome, ".curlrc"), "no-progress-meter\n");
  }
  return curlHome;
}

/** Runs `command` with bash in `cwd`; its output and errors together, as a terminal shows them. */
function runCommand(command: string, cwd: string): Promise<string[]> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, CURL_HOME: terminalCurlHome() };
    // Run from make docs-check, a make in a block would say it is a sub-make ("Entering directory"):
    // a reader's terminal runs it at the top.
    for (const name of ["MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"]) delete env[name];
    const child = spawn("bash", ["-c", `{\n${command}\n} 2>&1`], { cwd, env, stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), COMMAND_TIMEOUT_MS);
    child.on("close", () => {
      clearTimeout(timer);
      const lines = output.split("\n");
      if (lines.at(-1) === "") lines.pop();
      resolve(lines);
    });
  });
}

/** A scratch copy of the project for a tutorial: its files, its build outputs, its node_modules linked. */
function scratchCopy(): string {
  const scratch = mkdtempSync(join(tmpdir(), "docs-check-"));
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter((file) => file !== "");
  for (const file of files) {
    if (!existsSync(join(ROOT, file))) continue;
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    cpSync(join(ROOT, file), join(scratch, file), { preserveTimestamps: true });
  }
  if (existsSync(join(ROOT, "build"))) cpSync(join(ROOT, "build"), join(scratch, "build"), { recursive: true, preserveTimestamps: true });
  // The project's packages, each linked from a folder of the copy's own: whatever runs in the
  // copy (npm ci included) can remove a link there, never the project's packages.
  mkdirSync(join(scratch, "node_modules"));
  for (const entry of readdirSync(join(ROOT, "node_modules"))) {
    symlinkSync(join(ROOT, "node_modules", entry), join(scratch, "node_modules", entry));
  }
  // Installed already, as for the reader who ran make local first: the lock file no newer than
  // the install, so that make does not install again in the copy.
  const installed = statSync(join(ROOT, "node_modules/.package-lock.json")).mtime;
  utimesSync(join(scratch, "package-lock.json"), installed, installed);
  return scratch;
}

/** The local host on `config` (relative to cwd), on free ports, its log lines collected. */
class RunningHost {
  readonly lines: string[] = [];
  private child: ChildProcess;
  private partial = "";
  private waiters: Array<() => void> = [];

  constructor(cwd: string, config: string, readonly ports: Ports, wasmLogLevel: string) {
    const configCopy = join(mkdtempSync(join(tmpdir(), "docs-check-host-")), "envoy.yaml");
    const yaml = readFileSync(join(cwd, config), "utf8");
    writeFileSync(configCopy, yaml
      .replaceAll(`port_value: ${CONFIG_PORTS.main}`, `port_value: ${ports.main}`)
      .replaceAll(`port_value: ${CONFIG_PORTS.staticreply}`, `port_value: ${ports.staticreply}`)
      .replaceAll(`port_value: ${CONFIG_PORTS.admin}`, `port_value: ${ports.admin}`));
    this.child = spawn("node", ["--import", "tsx", "host/cli.ts", "-c", configCopy, "--plugin-folder", "build", "--concurrency", "1", "--component-log-level", `wasm:${wasmLogLevel}`], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const collect = (chunk: Buffer) => {
      const parts = (this.partial + chunk.toString()).split("\n");
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      for (const wake of this.waiters.splice(0)) wake();
    };
    this.child.stdout!.on("data", collect);
    this.child.stderr!.on("data", collect);
    this.child.on("exit", () => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until `done()` holds, a line at a time, or the time is up (then returns false). */
  async waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (!this.running || Date.now() > deadline) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise((resolve) => this.child.on("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
  }
}

/** How the page's `make local ...` differs from the host its marker starts, or undefined. */
function hostCommandMismatch(command: string, marker: Marker): string | undefined {
  const config = /\bCONFIG=(\S+)/.exec(command)?.[1] ?? (command.includes("host/cli.ts") ? /-c (\S+)/.exec(command)?.[1] : undefined) ?? "envoy/envoy.yaml";
  const level = /\bWASM_LOG_LEVEL=(\S+)/.exec(command)?.[1] ?? "info";
  if (config !== marker.config) return `the command runs ${config}, the marker config=${marker.config}`;
  if (level !== (marker.wasmLogLevel ?? "info")) return `the command's wasm log level is ${level}, the marker's ${marker.wasmLogLevel ?? "info"}`;
  return undefined;
}

function isHostCommand(command: string): boolean {
  return /(^|\s)make local\b/.test(command) || command.includes("host/cli.ts");
}

export interface CheckOptions {
  /** only the blocks marked make-test */
  quick: boolean;
}

/** Runs one block; its problem, or undefined when the page shows what ran. */
async function checkBlock(block: Block, marker: Marker, cwd: string): Promise<string | undefined> {
  if (marker.mode === "file") {
    mkdirSync(dirname(join(cwd, marker.file!)), { recursive: true });
    writeFileSync(join(cwd, marker.file!), block.lines.join("\n") + "\n");
    return undefined;
  }
  const sections = sectionsOf(block.lines);
  // Every section runs, so that a difference comes with the whole block as it ran.
  const ran: string[] = [];
  let firstProblem: string | undefined;
  const compare = (command: string, expected: string[], actual: string[]) => {
    ran.push(`$ ${command}`, ...actual);
    const problem = difference(expected, actual, marker.shape);
    if (problem !== undefined && firstProblem === undefined) firstProblem = `$ ${command}\n  ${problem}`;
  };
  const outcome = () => (firstProblem === undefined ? undefined : `${firstProblem}\n  the block as it ran:\n${ran.map((line) => `    ${line}`).join("\n")}`);
  if (marker.mode === "run") {
    for (const command of marker.before) await runCommand(command, cwd);
    for (const section of sections) compare(section.command, section.output, await runCommand(section.command, cwd));
    return outcome();
  }
  const ports = await freePorts();
  const host = new RunningHost(cwd, marker.config!, ports, marker.wasmLogLevel ?? "info");
  try {
    const ready = await host.waitFor(() => host.lines.some((line) => line.includes(HOST_READY_LINE)), HOST_START_TIMEOUT_MS);
    if (!ready) return `the local host on ${marker.config} did not start:\n${host.lines.join("\n")}`;
    let seen = host.lines.length;
    for (const command of marker.before) await runCommand(withPorts(command, ports), cwd);
    for (const section of sections) {
      let actual: string[];
      if (isHostCommand(section.command)) {
        const mismatch = hostCommandMismatch(section.command, marker);
        if (mismatch !== undefined) return `$ ${section.command}\n  ${mismatch}`;
        actual = host.lines.slice(0, host.lines.findIndex((line) => line.includes(HOST_READY_LINE)) + 1);
      } else {
        seen = host.lines.length;
        actual = await runCommand(withPorts(section.command, ports), cwd);
        // The host's lines the page shows after the command's output (two terminals, in order).
        const wanted = section.output.length - actual.length;
        if (wanted > 0) {
          await host.waitFor(() => host.lines.length - seen >= wanted, HOST_LINES_TIMEOUT_MS);
          actual = [...actual, ...host.lines.slice(seen, seen + wanted)];
        }
      }
      compare(section.command, section.output, actual.map((line) => withConfigPorts(line, ports)));
    }
    return outcome();
  } finally {
    await host.stop();
  }
}

/** Whether make test runs this block (the rest is make docs-check's). */
export function isQuick(marker: Marker): boolean {
  return marker.makeTest;
}

/** Checks the output blocks of `pageList`; one problem per block that differs. */
export async function checkPages(pageList: string[], options: CheckOptions, report: (line: string) => void = () => {}): Promise<string[]> {
  const problems: string[] = [];
  const scratches = new Map<string, string>();
  try {
    for (const page of pageList) {
      for (const block of blocksOf(page)) {
        if (block.marker === undefined || !("mode" in block.marker)) continue;
        const marker = block.marker;
        if (options.quick && !isQuick(marker)) continue;
        let cwd = ROOT;
        if (marker.tutorial !== undefined) {
          if (!scratches.has(marker.tutorial)) scratches.set(marker.tutorial, scratchCopy());
          cwd = scratches.get(marker.tutorial)!;
        }
        const started = Date.now();
        const problem = await checkBlock(block, marker, cwd);
        const where = `${page}:${block.line}`;
        if (problem !== undefined) problems.push(`${where}: ${problem}`);
        report(`${problem === undefined ? "ok  " : "DIFF"} ${where} (${marker.mode}${marker.slow ? ", slow" : ""}${marker.shape ? ", by shape" : ""}) ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    }
  } finally {
    for (const scratch of scratches.values()) rmSync(scratch, { recursive: true, force: true });
    if (curlHome !== undefined) rmSync(curlHome, { recursive: true, force: true });
    curlHome = undefined;
  }
  return problems;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const chosen = args.filter((arg) => !arg.startsWith("--"));
  for (const page of chosen) {
    if (!existsSync(join(ROOT, page))) {
      console.error(`docs-check: ${page}: no such file`);
      process.exit(2);
    }
  }
  const pageList = chosen.length > 0 ? chosen : pages();
  const structural = [...markerProblems(pageList), ...linkProblems(pageList)];
  for (const problem of structural) console.log(problem);
  console.log(quick ? "docs-check: the blocks marked make-test" : "docs-check: every checked block, the slow ones too (make bench, the tutorial: several minutes)");
  const problems = await checkPages(pageList, { quick }, (line) => console.log(line));
  for (const problem of problems) console.log(`\n${problem}`);
  const total = structural.length + problems.length;
  console.log(total === 0 ? "docs-check: every block shows what ran" : `docs-check: ${total} problem(s)`);
  process.exit(total === 0 ? 0 : 1);
}

if (process.argv[1] === new URL(import.meta.url).pathname) void main();
