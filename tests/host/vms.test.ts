// docs/envoy-host.md §2: --concurrency N gives a canary VM, then N+1 VMs, each with its own memory and root.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pluginModule } from "../helpers/wat.ts";
import { startTestPlugin, TestConnection } from "../helpers/wasm-host.ts";

/** Counts connections in a module global and shows the count as a proxy_log argument. */
const COUNTS_CONNECTIONS = pluginModule(`
  (global $connections (mut i32) (i32.const 0))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_new_connection") (param i32) (result i32)
    (global.set $connections (i32.add (global.get $connections) (i32.const 1)))
    (drop (call $log (i32.const 0) (i32.const 0) (global.get $connections)))
    (i32.const 0))`);

test("concurrency 2: a canary, then the main thread's VM and two workers, each with root context 1", () => {
  const { plugin, trace } = startTestPlugin(COUNTS_CONNECTIONS, { concurrency: 2 });
  assert.deepEqual(trace.filter((line) => line.includes("→ proxy_on_context_create")), [
    "[1] → proxy_on_context_create(1, 0)  root context 1",
    "[1] → proxy_on_context_create(1, 0)  root context 1",
    "[2] → proxy_on_context_create(1, 0)  root context 1",
    "[3] → proxy_on_context_create(1, 0)  root context 1",
  ]);
  assert.deepEqual(plugin.diagnostics().map((vm) => vm.role), ["main", "worker 0", "worker 1"]);
  assert.deepEqual(plugin.diagnostics().map((vm) => vm.memoryBytes), [65536, 65536, 65536]);
  plugin.close();
});

test("connections go round robin over the workers; module globals are per VM", () => {
  const { plugin, trace } = startTestPlugin(COUNTS_CONNECTIONS, { concurrency: 2 });
  trace.length = 0;
  for (let i = 0; i < 4; i++) new TestConnection(plugin).filter.onNewConnection();
  assert.deepEqual(trace.filter((line) => line.includes("proxy_log")), [
    "[2]   proxy_log(0, 0, 1) → Ok  trace, not printed",
    "[3]   proxy_log(0, 0, 1) → Ok  trace, not printed",
    "[2]   proxy_log(0, 0, 2) → Ok  trace, not printed",
    "[3]   proxy_log(0, 0, 2) → Ok  trace, not printed",
  ]);
  plugin.close();
  assert.throws(() => new TestConnection(plugin), /closed/);
});

test("context ids are per VM: the first connection on each worker is 2", () => {
  const { plugin, trace } = startTestPlugin(COUNTS_CONNECTIONS, { concurrency: 2 });
  for (let i = 0; i < 3; i++) new TestConnection(plugin).filter.onNewConnection();
  assert.deepEqual(trace.filter((line) => line.includes("→ proxy_on_new_connection")), [
    "[2] → proxy_on_new_connection(2)",
    "[3] → proxy_on_new_connection(2)",
    "[2] → proxy_on_new_connection(3)",
  ]);
  plugin.close();
});
