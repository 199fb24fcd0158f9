// docs/envoy-host.md §2: --concurrency N gives a canary VM, then N+1 VMs, each with its own memory and root.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pluginModule } from "../helpers/wat.ts";
import { enter, host, on, startTestPlugin, TestConnection, tracedOnThreads } from "../helpers/wasm-host.ts";

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
  const root = enter("proxy_on_context_create", [1, 0], { kind: "root", id: 1 });
  assert.deepEqual(
    tracedOnThreads(trace).filter((event) => event.kind === "enter" && event.name === "proxy_on_context_create"),
    [on(1, root), on(1, root), on(2, root), on(3, root)],
  );
  assert.deepEqual(plugin.diagnostics().map((vm) => vm.role), ["main", "worker 0", "worker 1"]);
  assert.deepEqual(plugin.diagnostics().map((vm) => vm.memoryBytes), [65536, 65536, 65536]);
  plugin.close();
});

test("connections go round robin over the workers; module globals are per VM", () => {
  const { plugin, trace } = startTestPlugin(COUNTS_CONNECTIONS, { concurrency: 2 });
  trace.length = 0;
  for (let i = 0; i < 4; i++) new TestConnection(plugin).filter.onNewConnection();
  const count = (n: number) => host("proxy_log", [0, 0, n], "Ok", { level: "trace", printed: false });
  assert.deepEqual(
    tracedOnThreads(trace).filter((event) => event.name === "proxy_log"),
    [on(2, count(1)), on(3, count(1)), on(2, count(2)), on(3, count(2))],
  );
  plugin.close();
  assert.throws(() => new TestConnection(plugin), /closed/);
});

test("context ids are per VM: the first connection on each worker is 2", () => {
  const { plugin, trace } = startTestPlugin(COUNTS_CONNECTIONS, { concurrency: 2 });
  for (let i = 0; i < 3; i++) new TestConnection(plugin).filter.onNewConnection();
  assert.deepEqual(
    tracedOnThreads(trace).filter((event) => event.kind === "enter" && event.name === "proxy_on_new_connection"),
    [on(2, enter("proxy_on_new_connection", [2])), on(3, enter("proxy_on_new_connection", [2])), on(2, enter("proxy_on_new_connection", [3]))],
  );
  plugin.close();
});
