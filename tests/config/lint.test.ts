// The lint command line: output and exit status.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

function lint(...args: string[]): { status: number | null; stdout: string } {
  const result = spawnSync(process.execPath, ["--import", "tsx", "host/config/lint.ts", ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout };
}

test("the shipped file passes and exits 0", () => {
  assert.deepEqual(lint(), { status: 0, stdout: "envoy/envoy.yaml: OK\n" });
});

test("an unreadable file exits 2; a file with issues exits 1", () => {
  assert.equal(lint("no/such/envoy.yaml").status, 2);
  const result = lint("docker-compose.yml");
  assert.equal(result.status, 1);
  assert.match(result.stdout, /^docker-compose\.yml:\d+: services: unknown field "services" in envoy\.config\.bootstrap\.v3\.Bootstrap$/m);
});

test("--help prints the usage and exits 0; an unknown option exits 2", () => {
  const help = lint("--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: npx tsx host\/config\/lint\.ts \[file \.\.\.\]/);
  assert.equal(lint("--nope").status, 2);
});
