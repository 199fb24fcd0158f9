// The edit loop: runs the local host on an Envoy config, and on each save in the source of a module
// the config loads (its folder and assembly/kit) rebuilds that module with make and restarts the
// host; a save of the config itself restarts the host. Each step says how long it took.
//   npx tsx scripts/dev.ts -c examples/hello/envoy.yaml [host/cli.ts options]   (make dev CONFIG=...)
//
// A build that fails prints the compiler's errors and leaves the running host as it is: it keeps
// serving the last module that built, so a half-typed save does not take away what the clients
// under test talk to; the next save that builds restarts it. Ctrl-C or SIGTERM stop the host and
// any build under way, and exit 0.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ConfigError, ConfigReadError, loadEnvoyConfig } from "../host/config/load.ts";
import { resolvePluginPath } from "../host/paths.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "host", "cli.ts");
const KIT = join(ROOT, "assembly", "kit");
const BUILD = join(ROOT, "build");
/** The logger's modules: built from assembly/logger/, every other build/<name>.wasm from examples/<name>/. */
const LOGGER_MODULES = ["main.wasm", "debug.wasm"];
/** The line the local host logs once its listeners accept connections (host/local-host.ts). */
const HOST_READY = "all dependencies initialized. starting workers";
/** Saves come in bursts (an editor writes, renames, touches): one build once they have settled. */
const DEBOUNCE_MS = 200;

/** A module the config loads, and how it is made again. */
interface WatchedModule {
  /** its make target, relative to the project: build/hello.wasm */
  target: string;
  /** the folders its source is in */
  sources: string[];
}

function say(message: string): void {
  process.stdout.write(`[dev] ${message}\n`);
}

/** A path as the user reads it: relative inside the project, whole outside it. */
function shown(path: string): string {
  const inside = relative(ROOT, path);
  return inside.startsWith("..") ? path : inside;
}

function seconds(sinceMs: number): string {
  return `${((performance.now() - sinceMs) / 1000).toFixed(1)} s`;
}

// ---------------------------------------------------------------- what to watch

/** The config path and the plugin folder, as host/cli.ts reads them; every other option is its own. */
function configAndPluginFolder(argv: string[]): { configPath: string; pluginFolder: string } {
  const { values } = parseArgs({
    args: argv,
    options: { "config-path": { type: "string", short: "c" }, "plugin-folder": { type: "string" } },
    strict: false,
    allowPositionals: true,
  });
  const configPath = values["config-path"];
  const pluginFolder = values["plugin-folder"];
  return {
    configPath: typeof configPath === "string" ? configPath : "envoy/envoy.yaml",
    pluginFolder: typeof pluginFolder === "string" ? pluginFolder : process.env.FOLDER_PLUGIN || "./build",
  };
}

/** The source folder of build/<file>, or undefined for a module the Makefile does not build from source here. */
function sourceFolderOf(file: string): string | undefined {
  if (LOGGER_MODULES.includes(file)) return join(ROOT, "assembly", "logger");
  const folder = join(ROOT, "examples", file.replace(/\.wasm$/, ""));
  return existsSync(join(folder, "index.ts")) ? folder : undefined;
}

/** The modules the config loads from the plugin folder that make builds; the others are only named. */
function modulesOf(configPath: string, pluginFolder: string): WatchedModule[] {
  const modules = new Map<string, WatchedModule>();
  for (const listener of loadEnvoyConfig(configPath).listeners) {
    for (const filter of listener.filters) {
      if (filter.kind !== "wasm") continue;
      if (filter.code.kind !== "local") {
        say(`${filter.name}: its code is fetched (code.remote), not built here`);
        continue;
      }
      const path = resolvePluginPath(filter.code.filename, pluginFolder);
      const source = dirname(path) === BUILD ? sourceFolderOf(basename(path)) : undefined;
      if (source === undefined) {
        say(`${filter.name}: ${path} is not built here (make builds build/<name>.wasm from examples/<name>/); only loaded again`);
        continue;
      }
      const target = relative(ROOT, path);
      modules.set(target, { target, sources: [source, KIT] });
    }
  }
  return [...modules.values()];
}

// ---------------------------------------------------------------- watching

/**
 * Calls `onChange` with the changed path. Each folder is watched on its own, subfolders included,
 * rather than with `recursive: true`: Node 20 emulates that on Linux with a watcher per file,
 * which loses a file an editor saves by renaming a new one over it. inotify underneath: no polling.
 */
class FolderWatcher {
  private readonly watchers = new Map<string, FSWatcher>();

  constructor(private readonly onChange: (path: string) => void) {}

  /** Watches `folder`, and with `subfolders` every folder under it (those made later too). */
  add(folder: string, subfolders: boolean): void {
    if (this.watchers.has(folder)) return;
    const watcher = watch(folder, (_event, name) => {
      const path = name === null ? folder : join(folder, name.toString());
      if (subfolders && name !== null && isFolder(path)) this.add(path, true);
      this.onChange(path);
    });
    watcher.on("error", () => this.remove(folder)); // the folder is gone
    this.watchers.set(folder, watcher);
    if (!subfolders) return;
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) this.add(join(folder, entry.name), true);
    }
  }

  private remove(folder: string): void {
    this.watchers.get(folder)?.close();
    this.watchers.delete(folder);
  }

  close(): void {
    for (const folder of [...this.watchers.keys()]) this.remove(folder);
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- building

type BuildResult = "rebuilt" | "unchanged" | "failed";

/** make as a user runs it, not as a sub-make of `make dev` (whose flags would carry over). */
function makeEnvironment(): NodeJS.ProcessEnv {
  const { MAKEFLAGS: _flags, MFLAGS: _mflags, MAKELEVEL: _level, ...env } = process.env;
  return env;
}

function modifiedMs(path: string): number | undefined {
  return existsSync(path) ? statSync(path).mtimeMs : undefined;
}

// ---------------------------------------------------------------- the host

/** The local host as a child process, its output passed through. */
class HostProcess {
  private readonly child: ChildProcess;
  /** resolves once it is ready (true) or has exited before being ready (false) */
  readonly ready: Promise<boolean>;
  /** resolves with its exit status once it has exited */
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: process.cwd(), stdio: ["ignore", "inherit", "pipe"] });
    this.exited = new Promise((resolve) => this.child.on("close", (code) => resolve(code)));
    let seen = "";
    this.ready = new Promise((resolve) => {
      this.child.stderr!.on("data", (chunk: Buffer) => {
        process.stderr.write(chunk);
        // The tail of the last chunk is kept: the line may come in two pieces.
        seen = (seen + chunk.toString()).slice(-2 * HOST_READY.length);
        if (seen.includes(HOST_READY)) resolve(true);
      });
      void this.exited.then(() => resolve(false));
    });
  }

  /** Stops it as SIGTERM does (a clean shutdown, exit 0) and waits until it has exited. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    await this.exited;
  }
}

// ---------------------------------------------------------------- the loop

class DevLoop {
  private host: HostProcess | undefined;
  private build: ChildProcess | undefined;
  private readonly watcher: FolderWatcher;
  private debounce: NodeJS.Timeout | undefined;
  /** a cycle (builds, restart) is under way: changes meanwhile wait for the next one */
  private busy = false;
  private pending = new Set<string>();
  private stopping = false;

  constructor(
    private readonly hostArgs: string[],
    private readonly configPath: string,
    private readonly modules: WatchedModule[],
  ) {
    this.watcher = new FolderWatcher((path) => this.changed(path));
  }

  async start(): Promise<void> {
    const folders = [...new Set(this.modules.flatMap((module) => module.sources))];
    for (const folder of folders) this.watcher.add(folder, true);
    // The config's own folder may be the project's: only the file matters there.
    this.watcher.add(dirname(this.configPath), false);
    const watched = [...folders.map((folder) => `${shown(folder)}/`), shown(this.configPath)];
    say(`watching ${watched.join(", ")}; Ctrl-C stops`);
    await this.cycle(true);
  }

  /** A path changed: sources of a module, the config, or a file beside the config that does not matter. */
  private changed(path: string): void {
    const inSources = this.modules.some((module) => module.sources.some((folder) => path.startsWith(folder + "/")));
    if (!inSources && path !== this.configPath) return;
    this.pending.add(path);
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.runPending(), DEBOUNCE_MS);
  }

  private async runPending(): Promise<void> {
    if (this.busy || this.stopping || this.pending.size === 0) return;
    const configChanged = this.pending.has(this.configPath);
    this.pending.clear();
    await this.cycle(configChanged);
    // Saves during the cycle: one more.
    if (this.pending.size > 0) void this.runPending();
  }

  /** Builds what changed; restarts the host if a module was rebuilt, the config changed, or none runs. */
  private async cycle(configChanged: boolean): Promise<void> {
    this.busy = true;
    try {
      let rebuilt = false;
      for (const module of this.modules) {
        const result = await this.rebuild(module);
        if (this.stopping) return;
        if (result === "failed") {
          say(this.host === undefined ? "the local host starts once it builds" : "the local host keeps running the last module that built");
          return;
        }
        rebuilt ||= result === "rebuilt";
      }
      if (rebuilt || configChanged || this.host === undefined) await this.restartHost();
    } finally {
      this.busy = false;
    }
  }

  /** make's target for the module: it rebuilds only if a source is newer than the module. */
  private async rebuild(module: WatchedModule): Promise<BuildResult> {
    const modulePath = join(ROOT, module.target);
    const before = modifiedMs(modulePath);
    const startedMs = performance.now();
    const child = spawn("make", ["--no-print-directory", "-s", module.target], { cwd: ROOT, env: makeEnvironment(), stdio: ["ignore", "pipe", "pipe"] });
    this.build = child;
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    this.build = undefined;
    if (this.stopping) return "failed";
    if (code !== 0) {
      process.stdout.write(output);
      say(`${module.target} failed to build in ${seconds(startedMs)}`);
      return "failed";
    }
    if (modifiedMs(modulePath) === before) return "unchanged";
    say(`rebuilt ${module.target} in ${seconds(startedMs)}`);
    return "rebuilt";
  }

  private async restartHost(): Promise<void> {
    const startedMs = performance.now();
    const previous = this.host;
    // Forgotten before it stops: its exit is then no news.
    this.host = undefined;
    await previous?.stop();
    if (this.stopping) return;
    const host = new HostProcess(this.hostArgs);
    this.host = host;
    void host.exited.then((code) => {
      if (this.host === host && !this.stopping) {
        this.host = undefined;
        say(`the local host exited with status ${code}; it starts again on the next save`);
      }
    });
    if (await host.ready) say(`local host ${previous !== undefined ? "restarted" : "started"} in ${seconds(startedMs)}`);
  }

  /** Ctrl-C, SIGTERM: the build under way and the host are stopped, then the watchers. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.debounce);
    this.watcher.close();
    this.build?.kill("SIGTERM");
    await this.host?.stop();
    say("stopped");
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const { configPath, pluginFolder } = configAndPluginFolder(argv);
  let modules: WatchedModule[];
  try {
    modules = modulesOf(configPath, pluginFolder);
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof ConfigReadError)) throw error;
    process.stderr.write(`dev: ${error.message}\n`);
    return 1;
  }
  const loop = new DevLoop(argv, resolve(configPath), modules);
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void loop.stop().then(resolve));
  });
  await loop.start();
  await stopped;
  return 0;
}

process.exit(await main());
