// make new-filter NAME=...: in a scratch copy of the project, the filter it creates builds, passes
// its own tests under `make test FILTER=`, and its envoy.yaml passes the strict config check
// with the new module, root id and configuration; a bad or taken NAME is refused in one line.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { loadEnvoyConfig } from "../../host/config/load.ts";
import { exchange } from "../helpers/e2e-clients.ts";
import { adminStats, startTestHost, wasmMessages } from "../helpers/e2e.ts";
import { copyProject, runMake } from "../helpers/project-copy.ts";

const NAME = "my_filter";
/** Building and testing the new module: minutes at worst on a loaded machine, never a bound on its speed. */
const BUILDS = { timeout: 600_000 };

describe("make new-filter", () => {
  let copy = "";
  before(() => {
    copy = copyProject("new-filter-");
  });
  after(() => fs.rmSync(copy, { recursive: true, force: true }));

  it("creates examples/NAME/ with a filter, its config, its tests, its envoy.yaml and a README", async () => {
    const made = await runMake(copy, ["-s", "new-filter", `NAME=${NAME}`]);
    assert.equal(made.stderr, "");
    assert.equal(made.code, 0);
    assert.deepEqual(made.stdout.split("\n").filter((line) => line.startsWith("created ")), [
      `created examples/${NAME}/index.ts`,
      `created examples/${NAME}/config.ts`,
      `created examples/${NAME}/plugin.ts`,
      `created examples/${NAME}/${NAME}.test.ts`,
      `created examples/${NAME}/envoy.yaml`,
      `created examples/${NAME}/README.md`,
    ]);
    for (const file of fs.readdirSync(path.join(copy, "examples", NAME))) {
      const text = fs.readFileSync(path.join(copy, "examples", NAME, file), "utf8");
      assert.doesNotMatch(text, /\{\{|\}\}/, file);
    }
  });

  it("the new filter builds and passes its tests under make test FILTER=NAME", BUILDS, async () => {
    const tested = await runMake(copy, ["test", `FILTER=${NAME}`]);
    assert.equal(tested.code, 0, tested.stdout + tested.stderr);
    assert.match(tested.stdout, new RegExp(`^npx asc examples/${NAME}/index.ts --target release -b build/${NAME}.wasm$`, "m"));
    assert.match(tested.stdout, /^node:test: 4 passed, 0 failed$/m);
    assert.ok(fs.existsSync(path.join(copy, "build", `${NAME}.wasm`)));
  });

  it("its envoy.yaml passes the strict check and loads the new module under its root id, with its configuration", () => {
    const config = loadEnvoyConfig(path.join(copy, "examples", NAME, "envoy.yaml"));
    const wasm = config.listeners.flatMap((listener) => listener.filters).filter((filter) => filter.kind === "wasm");
    assert.deepEqual(
      wasm.map((filter) => [filter.name, filter.rootId, filter.vmId, filter.code, filter.configuration]),
      [[NAME, NAME, NAME, { kind: "local", filename: `/etc/envoy/plugin/${NAME}.wasm` }, '{"greeting": "hello"}']],
    );
  });

  it("the local host runs its envoy.yaml as it is: the client answered, greeted in the log, counted", async () => {
    const testHost = await startTestHost({ configPath: path.join(copy, "examples", NAME, "envoy.yaml"), pluginFolder: path.join(copy, "build") });
    try {
      const reply = await exchange(testHost.mainPort, "GET / HTTP/1.0\r\nHost: x\r\n\r\n");
      assert.match(reply, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nexample body\n$/);
      await testHost.host.whenIdle();
      const greetings = wasmMessages(testHost.logs).filter((line) => line.includes("hello, "));
      assert.equal(greetings.length, 1);
      assert.match(greetings[0]!, new RegExp(`^wasm log ${NAME} ${NAME} ${NAME}: connection 2: hello, 127\\.0\\.0\\.1:\\d+$`));
      assert.deepEqual(await adminStats(testHost, `wasmcustom.${NAME}_connections`), [`wasmcustom.${NAME}_connections: 1`]);
    } finally {
      await testHost.host.close();
    }
  });

  it("make test FILTER= selects that example's specs and tests, and names the examples for one it does not know", async () => {
    const planned = await runMake(copy, ["-n", "test", "FILTER=tcp_guard"]);
    const commands = planned.stdout.split("\n").filter((line) => /^(npx asc|node )/.test(line)).map((line) => line.replace(/ --test-reporter\S*/g, ""));
    assert.deepEqual(commands.filter((line) => !line.startsWith("npx asc")), [
      'node tests/assembly/run.cjs "--file=^(tests/assembly/guard-callbacks.spec.ts|tests/assembly/guard.spec.ts)$"',
      "node --import tsx --test --test-concurrency=2 examples/tcp_guard/deny_list_scale.test.ts examples/tcp_guard/tcp_guard.test.ts tests/e2e/tcp-guard.test.ts",
    ]);
    // every folder of the copy's examples/ with an index.ts, in make's order
    const examples = fs.readdirSync(path.join(copy, "examples")).filter((name) => fs.existsSync(path.join(copy, "examples", name, "index.ts"))).sort();
    assert.ok(examples.includes(NAME) && examples.includes("tcp_guard"), examples.join(" "));
    for (const filter of ["nope", "hello tcp_guard"]) {
      const refused = await runMake(copy, ["test", `FILTER=${filter}`]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, new RegExp(`^Makefile:\\d+: \\*\\*\\* FILTER=${filter} is not one example; the examples are: ${examples.join(" ")}\\.  Stop\\.\n$`));
    }
  });

  it("refuses a NAME that is no snake_case identifier, a module of the logger's, or an existing folder, in one line", async () => {
    const refusals: Array<[string, string]> = [
      ["", "NAME is missing: make new-filter NAME=my_filter"],
      ["MyFilter", "NAME=MyFilter is not a snake_case identifier (lower-case letters and digits, words joined by one _, a letter first), e.g. my_filter"],
      ["my-filter", "NAME=my-filter is not a snake_case identifier (lower-case letters and digits, words joined by one _, a letter first), e.g. my_filter"],
      ["my__filter", "NAME=my__filter is not a snake_case identifier (lower-case letters and digits, words joined by one _, a letter first), e.g. my_filter"],
      ["2nd_filter", "NAME=2nd_filter is not a snake_case identifier (lower-case letters and digits, words joined by one _, a letter first), e.g. my_filter"],
      ["../x", "NAME=../x is not a snake_case identifier (lower-case letters and digits, words joined by one _, a letter first), e.g. my_filter"],
      ["main", "NAME=main is taken: build/main.wasm is the connection logger's module (assembly/logger/)"],
      ["hello", "NAME=hello: examples/hello/ exists already; pick another name or remove it"],
      [NAME, `NAME=${NAME}: examples/${NAME}/ exists already; pick another name or remove it`],
    ];
    const before = fs.readdirSync(path.join(copy, "examples")).sort();
    for (const [name, message] of refusals) {
      const refused = await runMake(copy, ["-s", "new-filter", `NAME=${name}`]);
      // make adds its own line, `make: *** [Makefile:N: new-filter] Error 1`, after the script's.
      const [line, makeLine, ...rest] = refused.stderr.split("\n");
      assert.deepEqual([refused.code, refused.stdout, line, rest], [2, "", `new-filter: ${message}`, [""]], name);
      assert.match(makeLine!, /^make: \*\*\* \[Makefile:\d+: new-filter\] Error 1$/);
    }
    assert.deepEqual(fs.readdirSync(path.join(copy, "examples")).sort(), before);
  });
});
