// docs/envoy-host.md §2–3: context ids and the order of the callbacks of a TCP connection.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pluginModule } from "../helpers/wat.ts";
import { traceLine, type TraceEvent } from "../../host/wasm/api.ts";
import { bytes, callbacks, enter, host, leave, startTestPlugin, TestConnection, traced } from "../helpers/wasm-host.ts";

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

const callbacksIn = (trace: TraceEvent[]) => callbacks(trace).filter((call) => call.name.startsWith("proxy_on"));

test("each VM's root context is 1: context_create, vm_start, configure with the configuration sizes", () => {
  const { plugin, trace } = startTestPlugin(pluginModule(ALL_CALLBACKS), {
    plugin: { configuration: '{"a":1}', vmConfiguration: "vm" },
  });
  const start = [
    enter("proxy_on_context_create", [1, 0], { kind: "root", id: 1 }),
    enter("proxy_on_vm_start", [1, 2], { bytes: 2 }),
    enter("proxy_on_configure", [1, 7], { bytes: 7 }),
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
    enter("proxy_on_context_create", [2, 1], { kind: "connection", id: 2, root: 1 }),
    enter("proxy_on_new_connection", [2]),
    enter("proxy_on_downstream_data", [2, 33, 0], { bytes: 33, endOfStream: false }),
    enter("proxy_on_upstream_data", [2, 32, 0], { bytes: 32, endOfStream: false }),
    enter("proxy_on_downstream_data", [2, 0, 1], { bytes: 0, endOfStream: true }),
    enter("proxy_on_upstream_data", [2, 0, 1], { bytes: 0, endOfStream: true }),
    enter("proxy_on_upstream_connection_close", [2, 0], { peer: "unknown" }),
    enter("proxy_on_downstream_connection_close", [2, 2], { peer: "remote" }),
    enter("proxy_on_done", [2]),
    enter("proxy_on_log", [2]),
    enter("proxy_on_delete", [2]),
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
  assert.deepEqual(
    callbacks(trace).find((call) => call.name === "proxy_on_downstream_connection_close"),
    enter("proxy_on_downstream_connection_close", [2, 1], { peer: "local" }),
  );
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
  assert.deepEqual(traced(trace), [
    enter("proxy_on_downstream_connection_close", [2, 2], { peer: "remote" }),
    leave("proxy_on_downstream_connection_close"),
    enter("proxy_on_done", [2]),
    leave("proxy_on_done", 0),
    enter("proxy_on_log", [2]),
    leave("proxy_on_log"),
    enter("proxy_on_delete", [2]),
    leave("proxy_on_delete"),
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
    callbacks(trace).filter((call) => call.name === "proxy_on_new_connection"),
    [enter("proxy_on_new_connection", [2]), enter("proxy_on_new_connection", [3]), enter("proxy_on_new_connection", [4])],
  );
  assert.equal(plugin.activeConnections, 2);
  plugin.close();
});

test("the --trace text: callbacks in and out, host calls with their words, results and meaning", () => {
  const wat = pluginModule(`
    (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
      (drop (call $get_buffer_bytes (i32.const 2) (i32.const 0) (i32.const 256) (i32.const 100) (i32.const 104)))
      (i32.const 0))`);
  const { plugin, trace } = startTestPlugin(wat);
  trace.length = 0;
  const connection = new TestConnection(plugin);
  connection.filter.onDownstreamData(bytes("hello"), false);
  assert.deepEqual(trace.map(traceLine), [
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
  assert.deepEqual(traced(withDone.trace), [
    enter("proxy_on_done", [1]),
    leave("proxy_on_done", 1),
    enter("proxy_on_delete", [1]),
    leave("proxy_on_delete"),
    enter("proxy_on_done", [1]),
    leave("proxy_on_done", 1),
    enter("proxy_on_delete", [1]),
    leave("proxy_on_delete"),
  ]);
  // the main thread's VM, then the worker's
  assert.deepEqual(withDone.trace.map((event) => event.thread), [1, 1, 1, 1, 2, 2, 2, 2]);
  const withoutDone = startTestPlugin(pluginModule(`(func (export "proxy_on_delete") (param i32))`));
  withoutDone.trace.length = 0;
  withoutDone.plugin.close();
  assert.deepEqual(traced(withoutDone.trace), [
    enter("proxy_on_delete", [1]),
    leave("proxy_on_delete"),
    enter("proxy_on_delete", [1]),
    leave("proxy_on_delete"),
  ]);
  assert.deepEqual(withoutDone.trace.map((event) => event.thread), [1, 1, 2, 2]);
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
  assert.deepEqual(traced(trace), [
    enter("proxy_on_done", [1]),
    host("proxy_done", [], "NotFound"),
    leave("proxy_on_done", 0),
    enter("proxy_on_done", [1]),
    host("proxy_done", [], "NotFound"),
    leave("proxy_on_done", 0),
  ]);
  assert.deepEqual(trace.map((event) => event.thread), [1, 1, 1, 2, 2, 2]);
  trace.length = 0;
  connection.filter.onDownstreamData(bytes("hi"), false);
  // the delete comes after the callback proxy_done was called in, once
  assert.deepEqual(traced(trace), [
    enter("proxy_on_downstream_data", [2, 2, 0], { bytes: 2, endOfStream: false }),
    host("proxy_set_effective_context", [1], "Ok", { context: 1 }),
    host("proxy_done", [], "Ok"),
    host("proxy_done", [], "NotFound"),
    leave("proxy_on_downstream_data", 0, { status: "Continue" }),
    enter("proxy_on_delete", [1]),
    leave("proxy_on_delete"),
  ]);
  assert.ok(trace.every((event) => event.thread === 2));
});
