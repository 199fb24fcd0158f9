// docs/envoy-host.md §2 and §8: start-up refusals, traps, and the failure policies.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { WasmFilterConfig } from "../../host/config/model.ts";
import { createLogger } from "../../host/log.ts";
import { createStatsStore } from "../../host/stats.ts";
import { TestConnection } from "../../host/testing/index.ts";
import { startWasmPlugin } from "../../host/wasm/api.ts";
import { pluginModule, writeWat } from "../helpers/wat.ts";
import { bytes, callbacks, enter, host, leave, NOW, pluginConfig, startTestPlugin, TIMESTAMP, traced } from "../helpers/wat-filters.ts";

/** Start a plugin that Envoy would refuse: the error it is refused with, and the lines logged before. */
function refusedStart(wat: string): { error: unknown; lines: string[] } {
  const lines: string[] = [];
  try {
    startWasmPlugin({
      plugin: pluginConfig(),
      wasmPath: writeWat(wat),
      concurrency: 1,
      logger: createLogger({ level: "info", componentLevels: {}, write: (line) => lines.push(line), now: () => NOW }),
      stats: createStatsStore(),
      propertyNames: "current",
    });
  } catch (error) {
    return { error, lines };
  }
  throw new Error("the plugin started");
}

test("on_configure returning 0 rejects the configuration, after Envoy's one line from the canary", () => {
  const wat = pluginModule(`(func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 0))`);
  const { error, lines } = refusedStart(wat);
  assert.deepEqual(
    { name: (error as Error).name, message: (error as Error).message },
    { name: "PluginStartError", message: "Unable to create Wasm plugin tcp_connection_logger: Wasm VM failed to start: on_configure returned 0" },
  );
  // cpp-host WasmHandleBase::canary → fail(ConfigureFailed, ...) → Envoy Wasm::error
  assert.deepEqual(lines, [
    `${TIMESTAMP}[1][error][wasm] [source/extensions/common/wasm/wasm.cc:109] Wasm VM failed Failed to configure base Wasm plugin`,
  ]);
});

test("on_vm_start returning 0 rejects the configuration, after Envoy's one line from the canary", () => {
  const wat = pluginModule(`(func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 0))`);
  const { error, lines } = refusedStart(wat);
  assert.deepEqual(
    { name: (error as Error).name, message: (error as Error).message },
    { name: "PluginStartError", message: "Unable to create Wasm plugin tcp_connection_logger: Wasm VM failed to start: on_vm_start returned 0" },
  );
  assert.deepEqual(lines, [
    `${TIMESTAMP}[1][error][wasm] [source/extensions/common/wasm/wasm.cc:109] Wasm VM failed Failed to start base Wasm`,
  ]);
});

test("a trap in on_configure: the trap's line, then the canary's", () => {
  const wat = pluginModule(`(func (export "proxy_on_configure") (param i32 i32) (result i32) (unreachable))`);
  const { error, lines } = refusedStart(wat);
  assert.equal((error as Error).name, "PluginStartError");
  assert.deepEqual(lines, [
    `${TIMESTAMP}[1][error][wasm] [source/extensions/common/wasm/wasm_vm.cc:38] Function: proxy_on_configure failed: Uncaught RuntimeError: unreachable`,
    `${TIMESTAMP}[1][error][wasm] [source/extensions/common/wasm/wasm.cc:109] Wasm VM failed Failed to configure base Wasm plugin`,
  ]);
});

/** Callbacks that trap (proc_exit, then unreachable, as AssemblyScript's abort does) on downstream data "boom". */
const TRAP_ON_BOOM = `
  (func (export "proxy_on_new_connection") (param i32) (result i32) (i32.const 0))
  (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
    (if (i32.eq (local.get 1) (i32.const 4)) (then (call $proc_exit (i32.const 255)) (unreachable)))
    (i32.const 0))
  (func (export "proxy_on_upstream_data") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32))`;
const TRAPS_ON_BOOM = pluginModule(TRAP_ON_BOOM);

test("a trap fails the VM: an error line, its connection closed at once, the others at their next callback, no done/log/delete", () => {
  const { plugin, lines, trace } = startTestPlugin(TRAPS_ON_BOOM, { level: "trace" });
  const open = new TestConnection(plugin);
  open.newConnection();
  const trapping = new TestConnection(plugin);
  trapping.newConnection();
  trace.length = 0;
  trapping.downstream(bytes("boom"), false);
  assert.deepEqual(lines.slice(-2), [
    `${TIMESTAMP}[2][trace][wasm] [source/extensions/common/wasm/context.cc:196] wasi_unstable proc_exit`,
    `${TIMESTAMP}[2][error][wasm] [source/extensions/common/wasm/wasm_vm.cc:38] Function: proxy_on_downstream_data failed: Uncaught RuntimeError: unreachable`,
  ]);
  assert.deepEqual(plugin.diagnostics().map((vm) => vm.failed), [false, true]);
  // Closed inside the trapping callback; the chunk is not forwarded.
  assert.deepEqual(trapping.events, ["close downstream"]);
  assert.deepEqual(open.events, []);
  open.upstream(bytes("reply"), false);
  open.upstream(bytes("more"), false);
  assert.deepEqual(open.events, ["close downstream"]);
  open.close("local");
  trapping.close("local");
  assert.deepEqual(trapping.events, ["close downstream"]);
  assert.equal(plugin.activeConnections, 0);
  plugin.close();
  // Only the main thread's root hears of the shutdown: the failed worker VM gets nothing.
  assert.deepEqual(callbacks(trace), [
    enter("proxy_on_downstream_data", [3, 4, 0], { bytes: 4, endOfStream: false }),
    enter("proxy_on_done", [1]),
    enter("proxy_on_delete", [1]),
  ]);
  assert.deepEqual(
    trace.filter((event) => event.kind === "enter").map((event) => event.thread),
    [2, 1, 1],
  );
});

/** Holds downstream data under 4 bytes (StopIteration) and traps on exactly 4; traps on 4 bytes of upstream data. */
const HOLDS_THEN_TRAPS = pluginModule(`
  (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
    (if (i32.eq (local.get 1) (i32.const 4)) (then (unreachable)))
    (i32.lt_u (local.get 1) (i32.const 4)))
  (func (export "proxy_on_upstream_data") (param i32 i32 i32) (result i32)
    (if (i32.eq (local.get 1) (i32.const 4)) (then (unreachable)))
    (i32.const 0))`);

const LEGACY_FAIL_OPEN: Partial<WasmFilterConfig> = { failurePolicy: "FAIL_OPEN", legacyFailOpen: true };

test("a trap in proxy_on_downstream_data: the read buffer, retained bytes included, is dropped and the connection closed; legacy fail_open forwards it", () => {
  const held = [
    enter("proxy_on_downstream_data", [2, 2, 0], { bytes: 2, endOfStream: false }),
    leave("proxy_on_downstream_data", 1, { status: "StopIteration" }),
    enter("proxy_on_downstream_data", [2, 4, 0], { bytes: 4, endOfStream: false }),
    leave("proxy_on_downstream_data"),
  ];
  const closed = startTestPlugin(HOLDS_THEN_TRAPS);
  const connection = new TestConnection(closed.plugin);
  closed.trace.length = 0;
  connection.downstream(bytes("ab"), false);
  connection.downstream(bytes("cd"), false);
  assert.deepEqual(connection.events, ["close downstream"]);
  // closed once; later data is not forwarded and the VM is not called
  connection.downstream(bytes("ef"), true);
  connection.close("local");
  assert.deepEqual(connection.events, ["close downstream"]);
  assert.deepEqual(traced(closed.trace), held);
  closed.plugin.close();

  const open = startTestPlugin(HOLDS_THEN_TRAPS, { plugin: LEGACY_FAIL_OPEN });
  const passing = new TestConnection(open.plugin);
  open.trace.length = 0;
  passing.downstream(bytes("ab"), false);
  passing.downstream(bytes("cd"), false);
  assert.deepEqual(passing.events, ['to upstream "abcd"']);
  passing.downstream(bytes("ef"), true);
  passing.close("remote");
  assert.deepEqual(passing.events, ['to upstream "abcd"', 'to upstream "ef" eos']);
  assert.deepEqual(traced(open.trace), held);
  open.plugin.close();
});

test("a trap in proxy_on_upstream_data: not forwarded to the client and the connection closed; legacy fail_open forwards it", () => {
  for (const [plugin, expected] of [
    [{}, ['to client "ok"', "close downstream"]],
    [LEGACY_FAIL_OPEN, ['to client "ok"', 'to client "boom"', 'to client "bye" eos']],
  ] as const) {
    const run = startTestPlugin(HOLDS_THEN_TRAPS, { plugin });
    const connection = new TestConnection(run.plugin);
    run.trace.length = 0;
    connection.upstream(bytes("ok"), false);
    connection.upstream(bytes("boom"), false);
    connection.upstream(bytes("bye"), true);
    connection.close("local");
    assert.deepEqual(connection.events, expected);
    assert.deepEqual(traced(run.trace), [
      enter("proxy_on_upstream_data", [2, 2, 0], { bytes: 2, endOfStream: false }),
      leave("proxy_on_upstream_data", 0, { status: "Continue" }),
      enter("proxy_on_upstream_data", [2, 4, 0], { bytes: 4, endOfStream: false }),
      leave("proxy_on_upstream_data"),
    ]);
    run.plugin.close();
  }
});

test("a trap in proxy_on_context_create or proxy_on_new_connection closes the connection at once, unless legacy fail_open", () => {
  const modules = {
    context_create: pluginModule(`
      (func (export "proxy_on_context_create") (param i32 i32) (if (local.get 1) (then (unreachable))))
      (func (export "proxy_on_new_connection") (param i32) (result i32) (i32.const 0))`),
    new_connection: pluginModule(`
      (func (export "proxy_on_context_create") (param i32 i32))
      (func (export "proxy_on_new_connection") (param i32) (result i32) (unreachable))`),
  };
  const traces = {
    context_create: [enter("proxy_on_context_create", [2, 1], { kind: "connection", id: 2, root: 1 }), leave("proxy_on_context_create")],
    new_connection: [
      enter("proxy_on_context_create", [2, 1], { kind: "connection", id: 2, root: 1 }),
      leave("proxy_on_context_create"),
      enter("proxy_on_new_connection", [2]),
      leave("proxy_on_new_connection"),
    ],
  };
  for (const callback of ["context_create", "new_connection"] as const) {
    for (const [plugin, atNewConnection, atEnd] of [
      [{}, ["close downstream"], ["close downstream"]],
      [LEGACY_FAIL_OPEN, [], ['to upstream "hi"']],
    ] as const) {
      const run = startTestPlugin(modules[callback], { plugin });
      const connection = new TestConnection(run.plugin);
      run.trace.length = 0;
      connection.newConnection();
      assert.deepEqual(connection.events, atNewConnection, callback);
      connection.downstream(bytes("hi"), false);
      connection.close("local");
      assert.deepEqual(connection.events, atEnd, callback);
      assert.deepEqual(traced(run.trace), traces[callback], callback);
      run.plugin.close();
    }
  }
});

test("other connections on a failed VM: closed once at their next callback, or with legacy fail_open their retained bytes pass too", () => {
  for (const [plugin, expected] of [
    [{}, ["close downstream"]],
    [LEGACY_FAIL_OPEN, ['to upstream "abc"', 'to upstream "d"']],
  ] as const) {
    const run = startTestPlugin(HOLDS_THEN_TRAPS, { plugin });
    const open = new TestConnection(run.plugin);
    open.newConnection();
    open.downstream(bytes("ab"), false);
    new TestConnection(run.plugin).downstream(bytes("boom"), false);
    assert.deepEqual(open.events, []);
    open.downstream(bytes("c"), false);
    open.downstream(bytes("d"), false);
    assert.deepEqual(open.events, expected);
    run.plugin.close();
  }
});

test("proc_exit alone only logs at trace and returns: the callback goes on and the VM stays up", () => {
  const wat = pluginModule(`
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (call $proc_exit (i32.const 1))
      (i32.const 0))`);
  const { plugin, lines, trace } = startTestPlugin(wat, { level: "trace" });
  const connection = new TestConnection(plugin);
  trace.length = 0;
  connection.newConnection();
  connection.downstream(bytes("hi"), false);
  assert.deepEqual(lines.slice(-1), [
    `${TIMESTAMP}[2][trace][wasm] [source/extensions/common/wasm/context.cc:196] wasi_unstable proc_exit`,
  ]);
  assert.deepEqual(traced(trace).slice(0, 3), [
    enter("proxy_on_new_connection", [2]),
    host("proc_exit", [1], "undefined"),
    leave("proxy_on_new_connection", 0, { status: "Continue" }),
  ]);
  assert.deepEqual(connection.events, ['to upstream "hi"']);
  assert.deepEqual(plugin.diagnostics().map((vm) => vm.failed), [false, false]);
  plugin.close();
});

test("failure_policy FAIL_OPEN without the legacy fail_open: open connections on a failed VM are closed", () => {
  const { plugin } = startTestPlugin(TRAPS_ON_BOOM, { plugin: { failurePolicy: "FAIL_OPEN", legacyFailOpen: false } });
  const open = new TestConnection(plugin);
  open.newConnection();
  const trapping = new TestConnection(plugin);
  trapping.newConnection();
  trapping.downstream(bytes("boom"), false);
  open.downstream(bytes("hi"), false);
  open.close("local");
  assert.deepEqual(open.events, ["close downstream"]);
  plugin.close();
});

test("legacy fail_open: open connections on a failed VM pass traffic, unfiltered", () => {
  const { plugin, trace } = startTestPlugin(TRAPS_ON_BOOM, { plugin: { failurePolicy: "FAIL_OPEN", legacyFailOpen: true } });
  const open = new TestConnection(plugin);
  open.newConnection();
  const trapping = new TestConnection(plugin);
  trapping.newConnection();
  trapping.downstream(bytes("boom"), false);
  // the chunk that trapped goes on too
  assert.deepEqual(trapping.events, ['to upstream "boom"']);
  trace.length = 0;
  open.downstream(bytes("hi"), false);
  open.upstream(bytes("ok"), true);
  open.close("remote");
  assert.deepEqual(open.events, ['to upstream "hi"', 'to client "ok" eos']);
  // no callback reaches the failed VM: no data, no done/log/delete
  assert.deepEqual(trace, []);
  plugin.close();
});

function failWorker(policy: "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD", reloadBackoffMs = 1000) {
  const run = startTestPlugin(TRAPS_ON_BOOM, { plugin: { failurePolicy: policy, reloadBackoffMs } });
  const trapping = new TestConnection(run.plugin);
  trapping.newConnection();
  trapping.downstream(bytes("boom"), false);
  trapping.close("remote");
  const next = new TestConnection(run.plugin);
  next.newConnection();
  next.downstream(bytes("hi"), false);
  next.upstream(bytes("ok"), true);
  next.close("remote");
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
    callbacks(reloaded.trace).filter((call) => call.name === "proxy_on_new_connection"),
    [enter("proxy_on_new_connection", [2]), enter("proxy_on_new_connection", [2])],
  );
});

test("FAIL_RELOAD: the back-off runs from the worker's last load attempt, not from the failure", (t) => {
  let now = 0;
  t.mock.method(performance, "now", () => now);
  // Loads are counted in a shared counter: the canary, the main thread's VM and the worker make
  // 3, so on_configure refuses the first reload (4) and accepts the next.
  const wat = pluginModule(`
    (data (i32.const 1024) "loads")
    (func (export "proxy_on_configure") (param i32 i32) (result i32)
      (drop (call $define_metric (i32.const 0) (i32.const 1024) (i32.const 5) (i32.const 200)))
      (drop (call $increment_metric (i32.load (i32.const 200)) (i64.const 1)))
      (drop (call $get_metric (i32.load (i32.const 200)) (i32.const 208)))
      (i64.ne (i64.load (i32.const 208)) (i64.const 4)))
    ${TRAP_ON_BOOM}`);
  const { plugin, lines } = startTestPlugin(wat, { plugin: { failurePolicy: "FAIL_RELOAD", reloadBackoffMs: 1000 } });
  const connect = () => {
    const connection = new TestConnection(plugin);
    connection.newConnection();
    connection.downstream(bytes("hi"), false);
    return connection.events;
  };
  now = 1500;
  new TestConnection(plugin).downstream(bytes("boom"), false);
  // 1500 ms since the worker's VM was loaded: a reload at once, though the failure is fresh
  assert.deepEqual(connect(), ["close downstream"]);
  assert.deepEqual(lines.slice(-2), [
    `${TIMESTAMP}[2][error][wasm] [source/extensions/common/wasm/wasm_vm.cc:38] Function: proxy_on_downstream_data failed: Uncaught RuntimeError: unreachable`,
    `${TIMESTAMP}[2][error][wasm] [host/wasm/wasm-plugin.ts] Wasm VM reload failed: Wasm VM failed to start: on_configure returned 0`,
  ]);
  now = 2499;
  assert.deepEqual(connect(), ["close downstream"]);
  assert.equal(lines.length, 2);
  now = 2500;
  assert.deepEqual(connect(), ['to upstream "hi"']);
  assert.deepEqual(plugin.diagnostics().map((vm) => vm.failed), [false, false]);
  plugin.close();
});
