// The Makefile and the Docker wrapper as users meet them: `make help` lists every target,
// `make local` passes WASM_LOG_LEVEL as docker-compose.yml does, what Envoy's container mounts is
// made readable by its uid 101 under any umask, and `make up` without a Docker engine is one line.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "makefile-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

const makefile = fs.readFileSync("Makefile", "utf8");

/** make as a user runs it: not as a sub-make of `make test`, whose flags and variables would carry over. */
function make(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const { MAKEFLAGS, MFLAGS, MAKELEVEL, ...env } = process.env;
  return execFileSync("make", ["--no-print-directory", ...args], { encoding: "utf8", cwd: options.cwd, env: { ...env, ...options.env } });
}

test("make help lists every target that has a ## description, digits in the name included", () => {
  const documented = [...makefile.matchAll(/^([A-Za-z0-9_.-]+):.*## /gm)].map((match) => match[1]!);
  assert.ok(documented.includes("e2e-envoy"));
  const listed = make(["-s", "help"]).split("\n").filter((line) => line !== "").map((line) => line.trim().split(/\s+/)[1]);
  assert.deepEqual(listed, documented);
});

test("make local passes WASM_LOG_LEVEL as the wasm logger's level, with docker-compose.yml's default", () => {
  const composeDefault = /wasm:\$\{WASM_LOG_LEVEL:-(\w+)\}/.exec(fs.readFileSync("docker-compose.yml", "utf8"))![1];
  const command = (env: NodeJS.ProcessEnv) => make(["-n", "local"], { env }).split("\n").filter((line) => line.includes("host/cli.ts") || line.includes("--component-log-level")).join(" ");
  assert.match(command({ WASM_LOG_LEVEL: "debug" }), /--component-log-level "wasm:debug"/);
  assert.match(command({ WASM_LOG_LEVEL: "" }), new RegExp(`--component-log-level "wasm:${composeDefault}"`));
});

test("make readable makes the config and the plugin folder readable by everyone, even under umask 077", () => {
  const clone = path.join(scratch, "clone");
  const mode = (file: string) => (fs.statSync(path.join(clone, file)).mode & 0o777).toString(8);
  const oldMask = process.umask(0o077);
  try {
    for (const folder of ["envoy", "build", "scripts", "other-plugins/nested"]) fs.mkdirSync(path.join(clone, folder), { recursive: true });
    fs.copyFileSync("Makefile", path.join(clone, "Makefile"));
    fs.copyFileSync("scripts/readable-by-envoy.sh", path.join(clone, "scripts/readable-by-envoy.sh"));
    fs.chmodSync(path.join(clone, "scripts/readable-by-envoy.sh"), 0o700);
    for (const file of ["envoy/envoy.yaml", "build/main.wasm", "other-plugins/nested/main.wasm"]) fs.writeFileSync(path.join(clone, file), "x");
  } finally {
    process.umask(oldMask);
  }
  assert.deepEqual(["envoy/envoy.yaml", "build", "build/main.wasm"].map(mode), ["600", "700", "600"]);
  make(["-s", "readable"], { cwd: clone, env: { FOLDER_PLUGIN: "./other-plugins" } });
  assert.deepEqual(
    ["envoy/envoy.yaml", "build", "build/main.wasm", "other-plugins", "other-plugins/nested", "other-plugins/nested/main.wasm"].map(mode),
    ["644", "755", "644", "755", "755", "644"],
  );
});

test("make up without a Docker engine is one line, and docker-compose is never started", () => {
  const bin = path.join(scratch, "bin");
  fs.mkdirSync(bin);
  const marker = path.join(scratch, "compose-started");
  // docker-compose 1.29 without an engine: a long Python traceback
  fs.writeFileSync(path.join(bin, "docker-compose"), `#!/bin/sh\ntouch ${marker}\necho Traceback >&2\nexit 1\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "docker"), "#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n", { mode: 0o755 });
  const result = spawnSync("scripts/compose.sh", ["up"], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` } });
  assert.equal(result.status, 2);
  assert.equal(result.stdout, "");
  assert.equal(
    result.stderr,
    "compose: no Docker engine answers (docker info failed); start one, or run the set-up without Docker: make local\n",
  );
  assert.equal(fs.existsSync(marker), false);
});

test("make build builds every examples/<name>/index.ts to build/<name>.wasm with the release options, the logger to build/main.wasm", () => {
  const clone = path.join(scratch, "filters");
  for (const folder of ["assembly/kit", "assembly/logger", "examples/alpha", "examples/beta_2", "examples/notes", "node_modules", "scripts"]) {
    fs.mkdirSync(path.join(clone, folder), { recursive: true });
  }
  fs.copyFileSync("Makefile", path.join(clone, "Makefile"));
  // examples/notes has no index.ts: not a filter
  for (const file of ["assembly/kit/filter.ts", "assembly/logger/index.ts", "examples/alpha/index.ts", "examples/beta_2/index.ts", "examples/notes/README.md", "asconfig.json", "package-lock.json"]) {
    fs.writeFileSync(path.join(clone, file), "");
  }
  // installed after the lock file: nothing to install
  fs.writeFileSync(path.join(clone, "node_modules/.package-lock.json"), "");
  const compiles = make(["-n", "build"], { cwd: clone }).split("\n").filter((line) => line.startsWith("npx asc"));
  assert.deepEqual(compiles.sort(), [
    "npx asc assembly/logger/index.ts --target debug",
    "npx asc assembly/logger/index.ts --target release",
    "npx asc examples/alpha/index.ts --target release -b build/alpha.wasm",
    "npx asc examples/beta_2/index.ts --target release -b build/beta_2.wasm",
  ]);
});

test("make up with an ENVOY_CONFIG that is no file is one line, and docker-compose is never started", () => {
  const bin = path.join(scratch, "bin-engine");
  fs.mkdirSync(bin);
  const marker = path.join(scratch, "compose-args");
  fs.writeFileSync(path.join(bin, "docker-compose"), `#!/bin/sh\necho "$@" > ${marker}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "docker"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const env = { ...process.env, PATH: `${bin}:/usr/bin:/bin` };
  const missing = spawnSync("scripts/compose.sh", ["up"], { encoding: "utf8", env: { ...env, ENVOY_CONFIG: "envoy/tcp_guard.yaml" } });
  assert.deepEqual([missing.status, missing.stdout, missing.stderr], [
    2,
    "",
    "compose: ENVOY_CONFIG=envoy/tcp_guard.yaml is not a file inside the project (e.g. examples/tcp_guard/envoy.yaml)\n",
  ]);
  assert.equal(fs.existsSync(marker), false);
  const found = spawnSync("scripts/compose.sh", ["up"], { encoding: "utf8", env: { ...env, ENVOY_CONFIG: "examples/tcp_guard/envoy.yaml" } });
  assert.equal(found.status, 0);
  assert.equal(fs.readFileSync(marker, "utf8"), "up\n");
});

test("make local runs the host on CONFIG, envoy/envoy.yaml by default; ENVOY_CONFIG is read too", () => {
  const configOf = (env: NodeJS.ProcessEnv, args: string[] = []) => /-c "([^"]*)"/.exec(make(["-n", "local", ...args], { env }))![1];
  assert.equal(configOf({ CONFIG: "", ENVOY_CONFIG: "" }), "envoy/envoy.yaml");
  assert.equal(configOf({ ENVOY_CONFIG: "" }, ["CONFIG=examples/tcp_guard/envoy.yaml"]), "examples/tcp_guard/envoy.yaml");
  assert.equal(configOf({ CONFIG: "", ENVOY_CONFIG: "examples/tcp_guard/envoy.yaml" }), "examples/tcp_guard/envoy.yaml");
});

test("a change in one filter's folder rebuilds that filter's module alone; a change in the kit rebuilds every module", () => {
  // make -n -W: what make would run if the file had just changed, the build being up to date
  const modules = ["build/main.wasm", "build/debug.wasm", "build/tcp_guard.wasm", "build/hello.wasm", "build/dispatch-probe.wasm"];
  make(["-s", ...modules]);
  const rebuiltAfter = (changed: string) =>
    [...make(["-n", "-W", changed, ...modules]).matchAll(/^npx asc (\S+) --target (\w+)/gm)].map((match) => `${match[1]} ${match[2]}`);
  assert.deepEqual(rebuiltAfter("examples/tcp_guard/config.ts"), ["examples/tcp_guard/index.ts release"]);
  assert.deepEqual(rebuiltAfter("examples/tcp_guard/tcp_guard.test.ts"), []);
  assert.deepEqual(rebuiltAfter("assembly/logger/config.ts"), ["assembly/logger/index.ts release", "assembly/logger/index.ts debug"]);
  assert.deepEqual(rebuiltAfter("assembly/kit/json.ts"), [
    "assembly/logger/index.ts release",
    "assembly/logger/index.ts debug",
    "examples/tcp_guard/index.ts release",
    "examples/hello/index.ts release",
    "tests/plugin/dispatch-probe/index.ts release",
  ]);
});
