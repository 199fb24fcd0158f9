// What the build checks before asc compiles a filter (scripts/check-filter.ts): small bad filters
// written into a scratch folder fail with one line naming the mistake and a non-zero status; the
// callbacks are read from the kit's dispatcher; the Makefile runs the check before every asc. And
// a metric a filter creates where the kit cannot define it says so when it is used.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { checkFilter, readKitContract } from "../../scripts/check-filter.ts";
import { startFilter } from "../../host/testing/index.ts";
import { ROOT } from "../helpers/e2e-paths.ts";
import { runScript, runTool } from "../helpers/run-tool.ts";
import { execFileSync } from "node:child_process";

const KIT = path.join(ROOT, "assembly/kit");
const CHECK = path.join(ROOT, "scripts/check-filter.ts");
// Inside the project (build/ is ignored), so that asc finds the kit's packages as for any filter.
const scratch = fs.mkdtempSync(path.join(ROOT, "build", "filter-check-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Writes a filter's files into its own folder of the scratch one; returns its entry file. */
function writeFilter(name: string, files: Record<string, string>): string {
  const folder = path.join(scratch, name);
  fs.mkdirSync(folder, { recursive: true });
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(folder, file), text);
  return path.join(folder, "index.ts");
}

/** The path from a filter's folder to the kit, as its imports spell it. */
const KIT_IMPORT = path.relative(path.join(scratch, "any"), KIT);
/** A path as the check shows it: relative to the project's root, where make runs it. */
const shown = (file: string) => path.relative(ROOT, file);

/** A one-class filter; `body` is its connection class's body. */
function oneClassFilter(body: string, exportsLine = `export * from "${KIT_IMPORT}/exports";`): string {
  return [
    `import { Connection, FilterStatusValues, NetworkFilter, NoConfiguration } from "${KIT_IMPORT}";`,
    exportsLine,
    "class BadConnection extends Connection {",
    "  constructor(id: u32, plugin: NoConfiguration) {",
    "    super(id);",
    "  }",
    body,
    "}",
    `@global const networkFilter = new NetworkFilter<NoConfiguration, BadConnection>(["bad"]);`,
    "",
  ].join("\n");
}

const callbacks = readKitContract().callbacks;

describe("the filter check", () => {
  it("reads the connection callbacks from the kit's dispatcher, the plugin's required methods from its calls", () => {
    for (const name of ["onNewConnection", "onDownstreamData", "onUpstreamData", "onDownstreamConnectionClose", "onUpstreamConnectionClose", "onDone"]) {
      assert.ok(callbacks.connection.has(name), name);
    }
    assert.deepEqual([...readKitContract().requiredPluginMethods].sort(), ["configure", "describe"]);
  });

  it("picks up a callback added to the dispatcher, for a connection or a plugin, with no edit of its own", () => {
    const kit = path.join(scratch, "kit");
    fs.mkdirSync(kit);
    fs.copyFileSync(path.join(KIT, "filter.ts"), path.join(kit, "filter.ts"));
    fs.writeFileSync(path.join(kit, "timers.ts"), [
      "function tick(plugin: P): void { if (isDefined(plugin.onTick)) plugin.onTick(); }",
      "function answer(connection: C): void { if (isDefined(connection.onHttpCallResponse)) connection.onHttpCallResponse(); }",
    ].join("\n"));
    const contract = readKitContract(kit);
    assert.deepEqual([...contract.callbacks.plugin], ["onTick"]);
    assert.ok(contract.callbacks.connection.has("onHttpCallResponse"));
    assert.deepEqual([...contract.requiredPluginMethods].sort(), ["configure", "describe"]);
  });

  it("fails on a misspelt connection callback: its file and line, and the callbacks there are", async () => {
    const entry = writeFilter("misspelt", {
      "index.ts": oneClassFilter("  onDownstreamdata(size: usize, endOfStream: bool): FilterStatusValues {\n    return FilterStatusValues.Continue;\n  }"),
    });
    const run = await runScript(CHECK, [entry]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `${shown(entry)}:7: onDownstreamdata is not a callback of a connection; the callbacks are: ${[...callbacks.connection].join(", ")}\n`);
  });

  it("fails on an entry file without the kit's exports, and names the line to add", async () => {
    const entry = writeFilter("no-exports", { "index.ts": oneClassFilter("", "") });
    const run = await runScript(CHECK, [entry]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `${shown(entry)}: the module exports no proxy-wasm ABI: add export * from "${KIT_IMPORT}/exports"\n`);
  });

  it("takes the exports re-exported through another file of the filter", () => {
    const entry = writeFilter("exports-through", {
      "abi.ts": `export * from "${KIT_IMPORT}/exports";\n`,
      "index.ts": oneClassFilter("", `export * from "./abi";`),
    });
    assert.deepEqual(checkFilter(entry), []);
  });

  it("fails on a plugin class without describe, and on an on… method a plugin has no callback for", () => {
    const entry = writeFilter("plugin", {
      "plugin.ts": [
        "export class HalfPlugin {",
        "  configure(configuration: ArrayBuffer): string { return \"\"; }",
        "  onConfigure(): void {}",
        "}",
        "",
      ].join("\n"),
      "index.ts": [
        `import { Connection, NetworkFilter } from "${KIT_IMPORT}";`,
        `import { HalfPlugin } from "./plugin";`,
        `export * from "${KIT_IMPORT}/exports";`,
        "class PlainConnection extends Connection {}",
        `@global const networkFilter = new NetworkFilter<HalfPlugin, PlainConnection>(["half"]);`,
        "",
      ].join("\n"),
    });
    const plugin = shown(path.join(path.dirname(entry), "plugin.ts"));
    const pluginCallbacks = callbacks.plugin.size === 0 ? "none" : [...callbacks.plugin].join(", ");
    assert.deepEqual(checkFilter(entry), [
      `${plugin}:3: onConfigure is not a callback of a plugin; the callbacks are: ${pluginCallbacks}`,
      `${plugin}:1: HalfPlugin, the plugin class, has no describe: a plugin declares configure, describe (or the filter uses NoConfiguration)`,
    ]);
  });

  it("passes the project's own modules", () => {
    for (const entry of ["assembly/logger/index.ts", "examples/hello/index.ts", "examples/tcp_guard/index.ts", "tests/plugin/dispatch-probe/index.ts"]) {
      assert.deepEqual(checkFilter(path.join(ROOT, entry)), [], entry);
    }
  });

  it("is run by make before asc, for every module", () => {
    const { MAKEFLAGS, MFLAGS, MAKELEVEL, ...env } = process.env;
    const commands = execFileSync("make", ["--no-print-directory", "-n", "-B", "build/main.wasm", "build/debug.wasm", "build/hello.wasm", "build/dispatch-probe.wasm"], { cwd: ROOT, encoding: "utf8", env })
      .split("\n");
    const compiled = commands.flatMap((command, i) => (command.startsWith("npx asc ") ? [[commands[i - 1], command.split(" ")[2]]] : []));
    assert.deepEqual(compiled, ["assembly/logger/index.ts", "assembly/logger/index.ts", "examples/hello/index.ts", "tests/plugin/dispatch-probe/index.ts"]
      .map((entry) => [`node --import tsx scripts/check-filter.ts ${entry}`, entry]));
  });
});

describe("a metric the kit cannot define", () => {
  it("says so when it is used, naming it, and is never counted", async () => {
    const entry = writeFilter("metric-in-connection", {
      "index.ts": oneClassFilter([
        "  // created per connection, after the plugin was configured: a mistake",
        `  hits: Metric = counter("bad_hits");`,
        "  onNewConnection(): FilterStatusValues {",
        "    this.hits.add(1);",
        "    return FilterStatusValues.Continue;",
        "  }",
      ].join("\n")).replace("import { Connection,", "import { counter, Metric, Connection,"),
    });
    assert.deepEqual(checkFilter(entry), []);
    const wasm = path.join(scratch, "metric-in-connection.wasm");
    const build = await runTool("npx", ["asc", shown(entry), "--target", "release", "-b", wasm], 600_000);
    assert.equal(build.code, 0, build.stderr);
    const filter = startFilter({ wasm, rootId: "bad" });
    const connection = filter.connect();
    filter.connect();
    assert.deepEqual(filter.messages().filter((message) => message.startsWith("error")), [
      "error metric bad_hits is used but was never defined: create it in the plugin class, which the kit defines when it is configured",
      "error metric bad_hits is used but was never defined: create it in the plugin class, which the kit defines when it is configured",
    ]);
    assert.equal(filter.metric("bad_hits"), undefined);
    assert.equal(connection.newConnectionStatus, "Continue");
    filter.close();
  });
});
