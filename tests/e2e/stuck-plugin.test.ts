// docs/envoy-host.md §17: a plugin whose callback does not return, run by the command line as a
// child process on free ports. The host thread is stuck; the main thread names the callback
// within about a second (Envoy's megamiss timeout) and ends the process on SIGTERM or Ctrl-C.

import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startCli, type RunningCli } from "../helpers/e2e-cli.ts";
import { configOnFreePorts, type ConfigPorts } from "../helpers/free-ports.ts";
import { pluginModule, writeWat } from "../helpers/wat.ts";

const LOOP = "(loop $forever (br $forever))";
const PLUGIN = "wasm plugin 'tcp_connection_logger'";

// Each test ends its process; one that fails leaves it stuck, ended here.
describe("a plugin callback that does not return", { concurrency: true, timeout: 30_000 }, () => {
  let scratch: string;
  const started: RunningCli[] = [];
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "local-host-stuck-"));
  });
  after(() => {
    for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The command line on envoy/envoy.yaml (free ports) with `body` as its main.wasm. */
  async function startWith(name: string, body: string, imports = ""): Promise<{ cli: RunningCli; ports: ConfigPorts; startedMs: number }> {
    const folder = join(scratch, name);
    mkdirSync(folder);
    copyFileSync(writeWat(pluginModule(body, { imports })), join(folder, "main.wasm"));
    const config = join(scratch, `${name}.yaml`);
    const ports = await configOnFreePorts(config);
    const cli = startCli(["-c", config, "--plugin-folder", folder]);
    started.push(cli);
    return { cli, ports, startedMs: performance.now() };
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

  for (const [signal, code, caught] of [
    ["SIGTERM", 143, "caught ENVOY_SIGTERM"],
    ["SIGINT", 130, "caught SIGINT"],
  ] as const) {
    test(`in proxy_on_new_connection: named within seconds; ${signal} ends the process, exit ${code}`, async () => {
      const { cli, ports } = await startWith(signal, `(func (export "proxy_on_new_connection") (param i32) (result i32) ${LOOP} (i32.const 0))`);
      await cli.waitForLog("all dependencies initialized. starting workers");
      const connectedMs = performance.now();
      connectTo(ports.main);
      const stuck = `proxy_on_new_connection (context 2) of ${PLUGIN} on the worker 0 VM has not returned for `;
      await cli.waitForLog(stuck);
      assert.ok(performance.now() - connectedMs < 5000, "named within 5 s");
      const result = await endWith(cli, signal);
      assert.equal(result.code, code);
      assert.ok(result.ms < 3000, `ended in ${result.ms} ms`);
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

  test("a second Ctrl-C at once (as a wrapper that passes the terminal's on sends it) is logged and does not cut the grace short", async () => {
    const { cli, ports } = await startWith("twice", `(func (export "proxy_on_new_connection") (param i32) (result i32) ${LOOP} (i32.const 0))`);
    await cli.waitForLog("all dependencies initialized. starting workers");
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
    assert.ok(endedMs >= 900, `ended after ${endedMs} ms: the host had its second to close`);
    assert.equal(result.stderr.match(/\] caught SIGINT\n/g)?.length, 2);
    assert.equal(result.stderr.match(/the host did not stop within 1\.0 s: /g)?.length, 1);
  });

  for (const [where, body, named] of [
    ["_initialize", `(func (export "_initialize") ${LOOP})`, `_initialize of ${PLUGIN} on the base VM`],
    [
      "proxy_on_configure",
      `(func (export "proxy_on_configure") (param i32 i32) (result i32) ${LOOP} (i32.const 1))`,
      `proxy_on_configure (context 1) of ${PLUGIN} on the canary VM`,
    ],
  ]) {
    test(`in ${where} at start-up: the line names it, Ctrl-C ends the process`, async () => {
      const { cli, startedMs } = await startWith(where, body);
      await cli.waitForLog(`${named} has not returned for `);
      assert.ok(performance.now() - startedMs < 8000, "named within seconds of the start");
      const result = await endWith(cli, "SIGINT");
      assert.equal(result.code, 130);
      assert.ok(result.ms < 3000, `ended in ${result.ms} ms`);
      assert.doesNotMatch(result.stderr, /starting main dispatch loop/);
      assert.match(result.stderr, new RegExp(`the host did not stop within 1\\.0 s: ${escape(named)} has run for `));
    });
  }

  test("one that returns after 1.8 s: a line when it does, and Envoy's watchdog stats counted for worker_0", async () => {
    const { cli, ports } = await startWith(
      "slow",
      `(func $nanoseconds (result i64) (drop (call $now (i32.const 200))) (i64.load (i32.const 200)))
       (func (export "proxy_on_new_connection") (param i32) (result i32)
         (local $until i64)
         (local.set $until (i64.add (call $nanoseconds) (i64.const 1800000000)))
         (loop $spin (br_if $spin (i64.lt_u (call $nanoseconds) (local.get $until))))
         (i32.const 0))`,
      `(import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))`,
    );
    await cli.waitForLog("all dependencies initialized. starting workers");
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
