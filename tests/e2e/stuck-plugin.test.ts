// docs/envoy-host.md §17: a plugin whose callback does not return, run by the command line as a
// child process on free ports. The host thread is stuck; the main thread names the callback
// once it has run for Envoy's megamiss timeout (1 s) and ends the process on SIGTERM or Ctrl-C.
// Nothing here depends on how fast the machine is: each case waits for the line or the exit
// itself, and the one bound on how late a line may come is the host's own start-up, measured in
// the same run.

import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SHUTDOWN_GRACE_MS } from "../../host/supervisor.ts";
import { MEGAMISS_TIMEOUT_MS } from "../../host/watchdog.ts";
import { startCli, type RunningCli } from "../helpers/e2e-cli.ts";
import { configOnFreePorts, type ConfigPorts } from "../helpers/free-ports.ts";
import { pluginModule, writeWat } from "../helpers/wat.ts";

/** A callback that never returns and keeps a core busy, as a plugin's endless loop does. */
const SPIN = "(loop $forever (br $forever))";
/**
 * A callback that never returns and uses no core: it waits on its memory, which nothing wakes.
 * The host sees what it sees of SPIN (a call that has not returned), and the cases can run at once.
 */
const WAIT = "(loop $forever (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))) (br $forever))";
const PLUGIN = "wasm plugin 'tcp_connection_logger'";
const STARTED = "all dependencies initialized. starting workers";
/**
 * Each case's own guard, far beyond what a case takes on a loaded machine: a line never logged or
 * a process that never exits fails its case alone instead of hanging the run.
 */
const CASE = { timeout: 90_000 };

// The cases run at once: all but the first wait without using a core, so they do not starve each
// other's start-up. Each test ends its process; one that fails leaves it stuck, ended here.
describe("a plugin callback that does not return", { concurrency: true }, () => {
  let scratch: string;
  const started: RunningCli[] = [];
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "local-host-stuck-"));
  });
  after(() => {
    for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The command line on envoy/envoy.yaml (free ports) with `body` as its main.wasm; `stderr()` is its output so far. */
  async function startWith(name: string, body: string) {
    const folder = join(scratch, name);
    mkdirSync(folder);
    copyFileSync(writeWat(pluginModule(body, { sharedMemory: body.includes("memory.atomic.wait32") })), join(folder, "main.wasm"));
    const config = join(scratch, `${name}.yaml`);
    const ports: ConfigPorts = await configOnFreePorts(config);
    const cli = startCli(["-c", config, "--plugin-folder", folder]);
    const startedMs = performance.now();
    started.push(cli);
    let output = "";
    cli.child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    return { cli, ports, startedMs, stderr: () => output };
  }

  /**
   * At the moment the line `named` (up to its duration) is seen: the process still runs, the call
   * has not returned, and the line is the only one of its kind. The duration it gives is at least
   * the megamiss timeout and no more than the `sinceMs` the test saw pass since the call could start
   * (give or take the rounding to 0.1 s).
   */
  function assertNamedWhileStuck(cli: RunningCli, stderr: string, named: string, sinceMs: number): void {
    assert.equal(cli.child.exitCode, null, "the process still runs");
    assert.equal(cli.child.signalCode, null, "the process still runs");
    assert.doesNotMatch(stderr, / returned after /);
    assert.equal(stderr.split(named).length - 1, 1, `one line names the call:\n${stderr}`);
    const seconds = stderr.match(new RegExp(`${escape(named)}(\\d+\\.\\d) s: `))?.[1];
    assert.ok(seconds !== undefined, `the line gives how long the call has run:\n${stderr}`);
    const runningMs = Number(seconds) * 1000;
    assert.ok(runningMs >= MEGAMISS_TIMEOUT_MS, `named after ${seconds} s: not before the megamiss timeout`);
    assert.ok(runningMs <= sinceMs + 50, `named after ${seconds} s, ${sinceMs.toFixed(0)} ms after the call could start`);
  }

  /** `promise`, or a rejection with `message` once `ms` have passed. */
  async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
    try {
      return await Promise.race([promise, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Open a connection to the listener and leave it. */
  function connectTo(port: number): void {
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("error", () => {});
    socket.unref();
  }

  /** Send the signal and wait for the exit: the code, the whole stderr and how long it took. */
  async function endWith(cli: RunningCli, signal: "SIGTERM" | "SIGINT") {
    const sentMs = performance.now();
    cli.child.kill(signal);
    const result = await cli.exited;
    return { ...result, ms: performance.now() - sentMs };
  }

  for (const [signal, code, caught, loop] of [
    ["SIGTERM", 143, "caught ENVOY_SIGTERM", SPIN],
    ["SIGINT", 130, "caught SIGINT", WAIT],
  ] as const) {
    const how = loop === SPIN ? "spinning" : "waiting";
    test(`in proxy_on_new_connection, ${how}: named while it runs; ${signal} ends the process after the grace, exit ${code}`, CASE, async () => {
      const { cli, ports, startedMs, stderr } = await startWith(signal, `(func (export "proxy_on_new_connection") (param i32) (result i32) ${loop} (i32.const 0))`);
      await cli.waitForLog(STARTED);
      // The reference, from this run on this machine: how long the host took to start. A watchdog
      // that names the call later than its megamiss by more than that is not watching.
      const startupMs = performance.now() - startedMs;
      const connectedMs = performance.now();
      connectTo(ports.main);
      const stuck = `proxy_on_new_connection (context 2) of ${PLUGIN} on the worker 0 VM has not returned for `;
      const deadlineMs = MEGAMISS_TIMEOUT_MS + startupMs;
      await within(cli.waitForLog(stuck), deadlineMs, `not named within ${MEGAMISS_TIMEOUT_MS} ms and the ${startupMs.toFixed(0)} ms the host took to start`);
      assertNamedWhileStuck(cli, stderr(), stuck, performance.now() - connectedMs);
      const result = await endWith(cli, signal);
      assert.equal(result.code, code);
      assert.ok(result.ms >= SHUTDOWN_GRACE_MS, `ended after ${result.ms} ms: the host had its grace to close`);
      const lines = result.stderr.trimEnd().split("\n").slice(-3);
      assert.match(lines[0], new RegExp(`^\\[[^\\]]+\\]\\[1\\]\\[error\\]\\[main\\] \\[host/watchdog\\.ts\\] ${escape(stuck)}\\d+\\.\\d s: `));
      assert.match(lines[1], new RegExp(`\\]\\[1\\]\\[warning\\]\\[main\\] \\[source/server/server\\.cc:\\d+\\] ${caught}$`));
      assert.match(
        lines[2],
        new RegExp(
          `\\]\\[1\\]\\[error\\]\\[main\\] \\[host/supervisor\\.ts\\] the host did not stop within 1\\.0 s: ` +
            `proxy_on_new_connection \\(context 2\\) of ${escape(PLUGIN)} on the worker 0 VM has run for \\d+\\.\\d s; ending it without a clean shutdown$`,
        ),
      );
    });
  }

  test("a second Ctrl-C at once (as a wrapper that passes the terminal's on sends it) is logged and does not cut the grace short", CASE, async () => {
    const { cli, ports } = await startWith("twice", `(func (export "proxy_on_new_connection") (param i32) (result i32) ${WAIT} (i32.const 0))`);
    await cli.waitForLog(STARTED);
    connectTo(ports.main);
    await cli.waitForLog("has not returned for ");
    const sentMs = performance.now();
    cli.child.kill("SIGINT");
    // Two signals of a kind sent back to back can reach the process as one: the second once the first is in.
    await cli.waitForLog("caught SIGINT");
    cli.child.kill("SIGINT");
    const result = await cli.exited;
    const endedMs = performance.now() - sentMs;
    assert.equal(result.code, 130);
    assert.ok(endedMs >= SHUTDOWN_GRACE_MS, `ended after ${endedMs} ms: the host had its grace to close`);
    assert.equal(result.stderr.match(/\] caught SIGINT\n/g)?.length, 2);
    assert.equal(result.stderr.match(/the host did not stop within 1\.0 s: /g)?.length, 1);
  });

  for (const [where, body, named] of [
    ["_initialize", `(func (export "_initialize") ${WAIT})`, `_initialize of ${PLUGIN} on the base VM`],
    [
      "proxy_on_configure",
      `(func (export "proxy_on_configure") (param i32 i32) (result i32) ${WAIT} (i32.const 1))`,
      `proxy_on_configure (context 1) of ${PLUGIN} on the canary VM`,
    ],
  ]) {
    test(`in ${where} at start-up: the line names it while it runs, Ctrl-C ends the process after the grace`, CASE, async () => {
      const { cli, startedMs, stderr } = await startWith(where, body);
      const stuck = `${named} has not returned for `;
      await cli.waitForLog(stuck);
      assertNamedWhileStuck(cli, stderr(), stuck, performance.now() - startedMs);
      const result = await endWith(cli, "SIGINT");
      assert.equal(result.code, 130);
      assert.ok(result.ms >= SHUTDOWN_GRACE_MS, `ended after ${result.ms} ms: the host had its grace to close`);
      // The whole output, in order: the host never got as far as its listeners.
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 3, result.stderr);
      assert.match(lines[0], new RegExp(`\\]\\[1\\]\\[error\\]\\[main\\] \\[host/watchdog\\.ts\\] ${escape(stuck)}\\d+\\.\\d s: `));
      assert.match(lines[1], /\]\[1\]\[warning\]\[main\] \[source\/server\/server\.cc:\d+\] caught SIGINT$/);
      assert.match(
        lines[2],
        new RegExp(`\\]\\[1\\]\\[error\\]\\[main\\] \\[host/supervisor\\.ts\\] the host did not stop within 1\\.0 s: ${escape(named)} has run for \\d+\\.\\d s; ending it without a clean shutdown$`),
      );
    });
  }

  test("one that returns after 1.8 s: a line when it does, and Envoy's watchdog stats counted for worker_0", CASE, async () => {
    const { cli, ports } = await startWith(
      "slow",
      // 1.8 s of waiting on its memory, which nothing wakes (2: timed out), without using a core
      `(func (export "proxy_on_new_connection") (param i32) (result i32)
         (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 1800000000)))
         (i32.const 0))`,
    );
    await cli.waitForLog(STARTED);
    connectTo(ports.main);
    await cli.waitForLog(`proxy_on_new_connection (context 2) of ${PLUGIN} on the worker 0 VM returned after `);
    const stats = await fetch(`http://127.0.0.1:${ports.admin}/stats?filter=watchdog`).then((response) => response.text());
    assert.equal(
      stats,
      [
        "main_thread.watchdog_mega_miss: 0",
        "main_thread.watchdog_miss: 0",
        "server.main_thread.watchdog_mega_miss: 0",
        "server.main_thread.watchdog_miss: 0",
        "server.worker_0.watchdog_mega_miss: 1",
        "server.worker_0.watchdog_miss: 1",
        "workers.watchdog_mega_miss: 1",
        "workers.watchdog_miss: 1",
        "",
      ].join("\n"),
    );
    await fetch(`http://127.0.0.1:${ports.admin}/quitquitquit`, { method: "POST" });
    const result = await cli.exited;
    assert.equal(result.code, 0);
    assert.match(result.stderr, /\[warning\]\[main\] \[host\/watchdog\.ts\] proxy_on_new_connection \(context 2\) .* returned after \d+\.\d s\n/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
