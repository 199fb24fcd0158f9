// docs/envoy-host.md §2–3: context ids and the order of the callbacks of a TCP connection.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pluginModule } from "../helpers/wat.ts";
import { bytes, calls, startTestPlugin, TestConnection } from "../helpers/wasm-host.ts";

/** Every callback of a network filter, each answering Continue (or true). */
const ALL_CALLBACKS = `
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_new_connection") (param i32) (result i32) (i32.const 0))
  (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_upstream_data") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_downstream_connection_close") (param i32 i32))
  (func (export "proxy_on_upstream_connection_close") (param i32 i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32))`;

/** What Envoy does for `curl localhost:18000 --data ...`, as the network side reports it. */
function curl(connection: TestConnection): void {
  const filter = connection.filter;
  filter.onNewConnection();
  filter.onDownstreamData(bytes("POST / HTTP/1.1\r\n\r\n[initial body]"), false);
  filter.onUpstreamData(bytes("HTTP/1.1 200 OK\r\n\r\nexample body\n"), false);
  filter.onDownstreamData(bytes(""), true);
  filter.onUpstreamData(bytes(""), true);
  filter.onUpstreamClose();
  filter.onDownstreamClose("remote");
}

const callbacksIn = (trace: string[]) => calls(trace).filter((line) => line.startsWith("→ proxy_on"));

test("each VM's root context is 1: context_create, vm_start, configure with the configuration sizes", () => {
  const { plugin, trace } = startTestPlugin(pluginModule(ALL_CALLBACKS), {
    plugin: { configuration: '{"a":1}', vmConfiguration: "vm" },
  });
  const start = [
    "→ proxy_on_context_create(1, 0)  root context 1",
    "→ proxy_on_vm_start(1, 2)  vm configuration 2 bytes",
    "→ proxy_on_configure(1, 7)  plugin configuration 7 bytes",
  ];
  // the canary, the main thread's VM, one worker
  assert.deepEqual(callbacksIn(trace), [...start, ...start, ...start]);
  plugin.close();
});

test("a curl-like connection: Envoy's callback order, size-0 end of stream, upstream peer type 0", () => {
  const { plugin, trace } = startTestPlugin(pluginModule(ALL_CALLBACKS));
  trace.length = 0;
  const connection = new TestConnection(plugin);
  curl(connection);
  assert.deepEqual(callbacksIn(trace), [
    "→ proxy_on_context_create(2, 1)  connection context 2 of root 1",
    "→ proxy_on_new_connection(2)",
    "→ proxy_on_downstream_data(2, 33, 0)  33 bytes",
    "→ proxy_on_upstream_data(2, 32, 0)  32 bytes",
    "→ proxy_on_downstream_data(2, 0, 1)  0 bytes, end of stream",
    "→ proxy_on_upstream_data(2, 0, 1)  0 bytes, end of stream",
    "→ proxy_on_upstream_connection_close(2, 0)  peer unknown",
    "→ proxy_on_downstream_connection_close(2, 2)  peer remote",
    "→ proxy_on_done(2)",
    "→ proxy_on_log(2)",
    "→ proxy_on_delete(2)",
  ]);
  assert.deepEqual(connection.events, [
    'to upstream "POST / HTTP/1.1\r\n\r\n[initial body]"',
    'to client "HTTP/1.1 200 OK\r\n\r\nexample body\n"',
    'to upstream "" eos',
    'to client "" eos',
  ]);
  assert.equal(plugin.activeConnections, 0);
  plugin.close();
});

test("a close this side started is peer type 1 (local)", () => {
  const { plugin, trace } = startTestPlugin(pluginModule(ALL_CALLBACKS));
  const connection = new TestConnection(plugin);
  connection.filter.onNewConnection();
  connection.filter.onDownstreamClose("local");
  assert.ok(calls(trace).includes("→ proxy_on_downstream_connection_close(2, 1)  peer local"));
  plugin.close();
});

test("proxy_on_done's return value is ignored for TCP: 0 still gets log and delete at once", () => {
  const doneReturns0 = ALL_CALLBACKS.replace(
    `(func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))`,
    `(func (export "proxy_on_done") (param i32) (result i32) (i32.const 0))`,
  );
  const { plugin, trace } = startTestPlugin(pluginModule(doneReturns0));
  const connection = new TestConnection(plugin);
  connection.filter.onNewConnection();
  trace.length = 0;
  connection.filter.onDownstreamClose("remote");
  assert.deepEqual(calls(trace), [
    "→ proxy_on_downstream_connection_close(2, 2)  peer remote",
    "← proxy_on_downstream_connection_close",
    "→ proxy_on_done(2)",
    "← proxy_on_done = 0",
    "→ proxy_on_log(2)",
    "← proxy_on_log",
    "→ proxy_on_delete(2)",
    "← proxy_on_delete",
  ]);
  assert.equal(plugin.activeConnections, 0);
  plugin.close();
});

test("connection ids count on from 2 per VM and are never reused", () => {
  const { plugin, trace } = startTestPlugin(pluginModule(ALL_CALLBACKS));
  trace.length = 0;
  const first = new TestConnection(plugin);
  first.filter.onNewConnection();
  const second = new TestConnection(plugin);
  second.filter.onNewConnection();
  assert.equal(plugin.activeConnections, 2);
  first.filter.onDownstreamClose("remote");
  const third = new TestConnection(plugin);
  third.filter.onNewConnection();
  assert.deepEqual(
    calls(trace).filter((line) => line.startsWith("→ proxy_on_new_connection")),
    ["→ proxy_on_new_connection(2)", "→ proxy_on_new_connection(3)", "→ proxy_on_new_connection(4)"],
  );
  assert.equal(plugin.activeConnections, 2);
  plugin.close();
});

test("trace shows callbacks in and out and host calls with arguments and results", () => {
  const wat = pluginModule(`
    (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
      (drop (call $get_buffer_bytes (i32.const 2) (i32.const 0) (i32.const 256) (i32.const 100) (i32.const 104)))
      (i32.const 0))`);
  const { plugin, trace } = startTestPlugin(wat);
  trace.length = 0;
  const connection = new TestConnection(plugin);
  connection.filter.onDownstreamData(bytes("hello"), false);
  assert.deepEqual(trace, [
    "[2] → proxy_on_downstream_data(2, 5, 0)  5 bytes",
    "[2]   proxy_get_buffer_bytes(2, 0, 256, 100, 104) → Ok  NetworkDownstreamData[0..5] 5 bytes",
    "[2] ← proxy_on_downstream_data = 0  Continue",
  ]);
  plugin.close();
});

test("shutdown: proxy_on_delete(root) follows proxy_on_done(root) at once when it returns non-zero or is not exported", () => {
  const withDone = startTestPlugin(pluginModule(ALL_CALLBACKS));
  withDone.trace.length = 0;
  withDone.plugin.close();
  assert.deepEqual(withDone.trace, [
    "[1] → proxy_on_done(1)",
    "[1] ← proxy_on_done = 1",
    "[1] → proxy_on_delete(1)",
    "[1] ← proxy_on_delete",
    "[2] → proxy_on_done(1)",
    "[2] ← proxy_on_done = 1",
    "[2] → proxy_on_delete(1)",
    "[2] ← proxy_on_delete",
  ]);
  const withoutDone = startTestPlugin(pluginModule(`(func (export "proxy_on_delete") (param i32))`));
  withoutDone.trace.length = 0;
  withoutDone.plugin.close();
  assert.deepEqual(withoutDone.trace, [
    "[1] → proxy_on_delete(1)",
    "[1] ← proxy_on_delete",
    "[2] → proxy_on_delete(1)",
    "[2] ← proxy_on_delete",
  ]);
});

test("shutdown: proxy_on_done(root) returning 0 defers proxy_on_delete(root) until the module calls proxy_done", () => {
  // on_done is not finished (proxy_done inside it is too early); a connection's callback finishes the root
  const wat = pluginModule(
    `(func (export "proxy_on_done") (param i32) (result i32) (drop (call $done)) (i32.const 0))
    (func (export "proxy_on_delete") (param i32))
    (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
      (drop (call $set_effective_context (i32.const 1)))
      (drop (call $done))
      (drop (call $done))
      (i32.const 0))`,
    { imports: `(import "env" "proxy_done" (func $done (result i32)))` },
  );
  const { plugin, trace } = startTestPlugin(wat);
  const connection = new TestConnection(plugin);
  trace.length = 0;
  plugin.close();
  assert.deepEqual(trace, [
    "[1] → proxy_on_done(1)",
    "[1]   proxy_done() → NotFound",
    "[1] ← proxy_on_done = 0",
    "[2] → proxy_on_done(1)",
    "[2]   proxy_done() → NotFound",
    "[2] ← proxy_on_done = 0",
  ]);
  trace.length = 0;
  connection.filter.onDownstreamData(bytes("hi"), false);
  // the delete comes after the callback proxy_done was called in, once
  assert.deepEqual(trace, [
    "[2] → proxy_on_downstream_data(2, 2, 0)  2 bytes",
    "[2]   proxy_set_effective_context(1) → Ok  context 1",
    "[2]   proxy_done() → Ok",
    "[2]   proxy_done() → NotFound",
    "[2] ← proxy_on_downstream_data = 0  Continue",
    "[2] → proxy_on_delete(1)",
    "[2] ← proxy_on_delete",
  ]);
});
