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
