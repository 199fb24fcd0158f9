// docs/envoy-host.md §2 and §8: start-up refusals, traps, and the failure policies.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pluginModule } from "../helpers/wat.ts";
import { bytes, calls, startTestPlugin, TestConnection, TIMESTAMP } from "../helpers/wasm-host.ts";

test("on_configure returning 0 rejects the configuration", () => {
  const wat = pluginModule(`(func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 0))`);
  assert.throws(() => startTestPlugin(wat), {
    name: "PluginStartError",
    message: "Unable to create Wasm plugin tcp_connection_logger: Wasm VM failed to start: on_configure returned 0",
  });
});

test("on_vm_start returning 0 rejects the configuration", () => {
  const wat = pluginModule(`(func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 0))`);
  assert.throws(() => startTestPlugin(wat), {
    name: "PluginStartError",
    message: "Unable to create Wasm plugin tcp_connection_logger: Wasm VM failed to start: on_vm_start returned 0",
  });
});

/** Traps (proc_exit, then unreachable, as AssemblyScript's abort does) on downstream data "boom". */
const TRAPS_ON_BOOM = pluginModule(`
  (func (export "proxy_on_new_connection") (param i32) (result i32) (i32.const 0))
  (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
    (if (i32.eq (local.get 1) (i32.const 4)) (then (call $proc_exit (i32.const 255)) (unreachable)))
    (i32.const 0))
  (func (export "proxy_on_upstream_data") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32))`);

test("a trap fails the VM: an error line, no done/log/delete, and the next callback closes the connection", () => {
  const { plugin, lines, trace } = startTestPlugin(TRAPS_ON_BOOM, { level: "trace" });
  const open = new TestConnection(plugin);
  open.filter.onNewConnection();
  const trapping = new TestConnection(plugin);
  trapping.filter.onNewConnection();
  trace.length = 0;
  trapping.filter.onDownstreamData(bytes("boom"), false);
  assert.deepEqual(lines.slice(-2), [
    `${TIMESTAMP}[2][trace][wasm] [source/extensions/common/wasm/context.cc:1195] wasi_snapshot_preview1 proc_exit`,
    `${TIMESTAMP}[2][error][wasm] [source/extensions/common/wasm/wasm_vm.cc:38] Function: proxy_on_downstream_data failed: Uncaught RuntimeError: unreachable`,
  ]);
  assert.deepEqual(plugin.diagnostics().map((vm) => vm.failed), [false, true]);
  // The trapping call's bytes went on (its result counts as Continue); the next callback closes.
  open.filter.onUpstreamData(bytes("reply"), false);
  open.filter.onDownstreamClose("local");
  trapping.filter.onDownstreamClose("remote");
  assert.deepEqual(open.events, ["close downstream"]);
  assert.deepEqual(trapping.events, ['to upstream "boom"']);
  assert.deepEqual(
    calls(trace).filter((line) => line.startsWith("→")),
    ["→ proxy_on_downstream_data(3, 4, 0)  4 bytes"],
  );
  assert.equal(plugin.activeConnections, 0);
  plugin.close();
});

test("proc_exit alone only logs at trace and returns: the callback goes on and the VM stays up", () => {
  const wat = pluginModule(`
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (call $proc_exit (i32.const 1))
      (i32.const 0))`);
  const { plugin, lines, trace } = startTestPlugin(wat, { level: "trace" });
  const connection = new TestConnection(plugin);
  trace.length = 0;
  connection.filter.onNewConnection();
  connection.filter.onDownstreamData(bytes("hi"), false);
  assert.deepEqual(lines.slice(-1), [
    `${TIMESTAMP}[2][trace][wasm] [source/extensions/common/wasm/context.cc:1195] wasi_snapshot_preview1 proc_exit`,
  ]);
  assert.deepEqual(calls(trace).slice(0, 3), [
    "→ proxy_on_new_connection(2)",
    "  proc_exit(1) → undefined",
    "← proxy_on_new_connection = 0  Continue",
  ]);
  assert.deepEqual(connection.events, ['to upstream "hi"']);
  assert.deepEqual(plugin.diagnostics().map((vm) => vm.failed), [false, false]);
  plugin.close();
});

test("failure_policy FAIL_OPEN without the legacy fail_open: open connections on a failed VM are closed", () => {
  const { plugin } = startTestPlugin(TRAPS_ON_BOOM, { plugin: { failurePolicy: "FAIL_OPEN", legacyFailOpen: false } });
  const open = new TestConnection(plugin);
  open.filter.onNewConnection();
  const trapping = new TestConnection(plugin);
  trapping.filter.onNewConnection();
  trapping.filter.onDownstreamData(bytes("boom"), false);
  open.filter.onDownstreamData(bytes("hi"), false);
  open.filter.onDownstreamClose("local");
  assert.deepEqual(open.events, ["close downstream"]);
  plugin.close();
});

test("legacy fail_open: open connections on a failed VM pass traffic, unfiltered", () => {
  const { plugin, trace } = startTestPlugin(TRAPS_ON_BOOM, { plugin: { failurePolicy: "FAIL_OPEN", legacyFailOpen: true } });
  const open = new TestConnection(plugin);
  open.filter.onNewConnection();
  const trapping = new TestConnection(plugin);
  trapping.filter.onNewConnection();
  trapping.filter.onDownstreamData(bytes("boom"), false);
  trace.length = 0;
  open.filter.onDownstreamData(bytes("hi"), false);
  open.filter.onUpstreamData(bytes("ok"), true);
  open.filter.onDownstreamClose("remote");
  assert.deepEqual(open.events, ['to upstream "hi"', 'to client "ok" eos']);
  // no callback reaches the failed VM: no data, no done/log/delete
  assert.deepEqual(trace, []);
  plugin.close();
});

function failWorker(policy: "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD", reloadBackoffMs = 1000) {
  const run = startTestPlugin(TRAPS_ON_BOOM, { plugin: { failurePolicy: policy, reloadBackoffMs } });
  const trapping = new TestConnection(run.plugin);
  trapping.filter.onNewConnection();
  trapping.filter.onDownstreamData(bytes("boom"), false);
  trapping.filter.onDownstreamClose("remote");
  const next = new TestConnection(run.plugin);
  next.filter.onNewConnection();
  next.filter.onDownstreamData(bytes("hi"), false);
  next.filter.onUpstreamData(bytes("ok"), true);
  next.filter.onDownstreamClose("remote");
  run.plugin.close();
  return { ...run, events: next.events };
}

test("FAIL_CLOSED: a new connection on a failed VM is closed at once", () => {
  assert.deepEqual(failWorker("FAIL_CLOSED").events, ["close downstream"]);
});

test("FAIL_OPEN: a new connection on a failed VM passes traffic without the filter", () => {
  assert.deepEqual(failWorker("FAIL_OPEN").events, ['to upstream "hi"', 'to client "ok" eos']);
});

test("FAIL_RELOAD: closed during the back-off, then a new VM with its own root context", () => {
  assert.deepEqual(failWorker("FAIL_RELOAD", 60_000).events, ["close downstream"]);
  const reloaded = failWorker("FAIL_RELOAD", 0);
  assert.deepEqual(reloaded.events, ['to upstream "hi"', 'to client "ok" eos']);
  assert.deepEqual(reloaded.plugin.diagnostics().map((vm) => vm.failed), [false, false]);
  // The trapping connection's id on the failed VM, then the same first id on the new VM.
  assert.deepEqual(
    calls(reloaded.trace).filter((line) => line.startsWith("→ proxy_on_new_connection")),
    ["→ proxy_on_new_connection(2)", "→ proxy_on_new_connection(2)"],
  );
});
