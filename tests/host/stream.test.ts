// docs/envoy-host.md §3: StopIteration, proxy_continue_stream and proxy_close_stream on a TCP connection.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pluginModule } from "../helpers/wat.ts";
import { TestConnection } from "../../host/testing/index.ts";
import { bytes, enter, host, leave, startTestPlugin, traced } from "../helpers/wat-filters.ts";

/** Holds downstream data until it is 8 bytes or more, then resumes with continue_stream(Downstream). */
const HOLDS_UNTIL_8 = pluginModule(`
  (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 1) (i32.const 8))
      (then (i32.const 1))
      (else (drop (call $continue_stream (i32.const 2))) (drop (call $continue_stream (i32.const 3))) (i32.const 1))))
  (func (export "proxy_on_upstream_data") (param i32 i32 i32) (result i32)
    (if (i32.eq (local.get 1) (i32.const 3)) (then (drop (call $close_stream (i32.const 3)))))
    (i32.const 1))`);

test("StopIteration retains the bytes and reports them again with the next; continue_stream(2) forwards them", () => {
  const { plugin, trace } = startTestPlugin(HOLDS_UNTIL_8);
  const connection = new TestConnection(plugin);
  trace.length = 0;
  connection.downstream(bytes("abc"), false);
  connection.downstream(bytes("def"), false);
  assert.deepEqual(connection.events, []);
  connection.downstream(bytes("ghi"), false);
  assert.deepEqual(connection.events, ['to upstream "abcdefghi"']);
  assert.deepEqual(
    traced(trace).filter((event) => event.kind !== "leave"),
    [
      enter("proxy_on_downstream_data", [2, 3, 0], { bytes: 3, endOfStream: false }),
      enter("proxy_on_downstream_data", [2, 6, 0], { bytes: 6, endOfStream: false }),
      enter("proxy_on_downstream_data", [2, 9, 0], { bytes: 9, endOfStream: false }),
      host("proxy_continue_stream", [2], "Ok", { stream: "Downstream" }),
      host("proxy_continue_stream", [3], "Unimplemented", { stream: "Upstream" }),
    ],
  );
  plugin.close();
});

test("StopIteration on upstream data is unsupported: one warning, and the data is forwarded", () => {
  const { plugin, lines } = startTestPlugin(HOLDS_UNTIL_8);
  const connection = new TestConnection(plugin);
  assert.equal(connection.upstream(bytes("four"), false), "StopIteration");
  connection.upstream(bytes("fives"), false);
  // 3 bytes close the connection (close_stream(Upstream)): after it, nothing passes any more
  connection.upstream(bytes("one"), false);
  assert.deepEqual(connection.events, ['to client "four"', 'to client "fives"', "close downstream"]);
  assert.deepEqual(
    lines.map((line) => line.split("] ").slice(2).join("] ")),
    ["proxy_on_upstream_data returned StopIteration, which is not supported for upstream data: the data is forwarded"],
  );
  assert.match(lines[0], /\]\[warning\]\[wasm\] \[host\/wasm\/wasm-plugin\.ts\] /);
  plugin.close();
});

test("any non-zero return is StopIteration: 7 and -1 hold the bytes as 1 does", () => {
  for (const status of [7, -1]) {
    const wat = pluginModule(`
      (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32) (i32.const ${status}))`);
    const { plugin } = startTestPlugin(wat);
    const connection = new TestConnection(plugin);
    connection.downstream(bytes("abc"), false);
    assert.deepEqual(connection.events, [], `return ${status}`);
    plugin.close();
  }
});

/** StopIteration in proxy_on_new_connection; downstream data answered Continue once it is "go". */
const HOLDS_NEW_CONNECTION = pluginModule(`
  (data (i32.const 100) "go")
  (func (export "proxy_on_new_connection") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
    (if (result i32) (i32.eq (local.get 1) (i32.const 2)) (then (i32.const 0)) (else (i32.const 1))))`);

test("StopIteration in proxy_on_new_connection holds tcp_proxy until downstream data is answered Continue", () => {
  const { plugin } = startTestPlugin(HOLDS_NEW_CONNECTION);
  const connection = new TestConnection(plugin);
  assert.equal(connection.newConnection(), "StopIteration");
  assert.equal(connection.upstreamStarted, false);
  assert.equal(connection.downstream(bytes("g")), "StopIteration");
  assert.deepEqual([connection.upstreamStarted, connection.holdingDownstream, connection.events], [false, true, []]);
  // the held byte is reported again with the next; Continue passes both on, and tcp_proxy starts
  assert.equal(connection.downstream(bytes("o")), "Continue");
  assert.deepEqual([connection.upstreamStarted, connection.holdingDownstream, connection.events], [true, false, ['to upstream "go"']]);
  plugin.close();
});

test("proxy_continue_stream(Downstream) in proxy_on_new_connection lets tcp_proxy start once the call has returned", () => {
  const wat = pluginModule(`
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (drop (call $continue_stream (i32.const 2)))
      (i32.const 1))`);
  const { plugin, trace } = startTestPlugin(wat);
  const connection = new TestConnection(plugin);
  trace.length = 0;
  assert.equal(connection.newConnection(), "StopIteration");
  assert.equal(connection.upstreamStarted, true);
  assert.deepEqual(traced(trace).slice(-2), [
    host("proxy_continue_stream", [2], "Ok", { stream: "Downstream" }),
    leave("proxy_on_new_connection", 1, { status: "StopIteration" }),
  ]);
  plugin.close();
});

test("proxy_continue_stream for another connection (proxy_set_effective_context) acts once the VM call has returned", () => {
  // Connection 3's data resumes connection 2, which held its new connection.
  const wat = pluginModule(`
    (func (export "proxy_on_new_connection") (param i32) (result i32) (i32.const 1))
    (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
      (drop (call $set_effective_context (i32.const 2)))
      (drop (call $continue_stream (i32.const 2)))
      (i32.const 0))`);
  const { plugin, trace } = startTestPlugin(wat);
  const continuedAt: number[] = [];
  const held = new TestConnection({
    createFilter: (info, callbacks) =>
      plugin.createFilter(info, {
        connection: callbacks.connection,
        continueReading: () => (continuedAt.push(trace.length), callbacks.continueReading()),
      }),
  });
  const other = new TestConnection(plugin);
  held.newConnection();
  other.newConnection();
  assert.equal(held.upstreamStarted, false);
  trace.length = 0;
  other.downstream(bytes("x"));
  assert.equal(held.upstreamStarted, true);
  // after connection 3's callback had returned: its enter, the two host calls, its leave
  assert.deepEqual(continuedAt, [4]);
  plugin.close();
});

test("proxy_close_stream acts once the VM call has returned, and closes the connection once for both streams", () => {
  const wat = pluginModule(`
    (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
      (drop (call $close_stream (i32.const 2)))
      (drop (call $close_stream (i32.const 3)))
      (i32.const 0))`);
  const { plugin, trace } = startTestPlugin(wat);
  const tracedWhenClosed: number[] = [];
  const connection = new TestConnection({
    createFilter: (info, callbacks) =>
      plugin.createFilter(info, {
        continueReading: () => callbacks.continueReading(),
        connection: {
          get open() {
            return callbacks.connection.open;
          },
          close: () => (tracedWhenClosed.push(trace.length), callbacks.connection.close()),
        },
      }),
  });
  connection.newConnection();
  trace.length = 0;
  // Continue, but the connection closed first: the bytes go nowhere.
  assert.equal(connection.downstream(bytes("abc")), "Continue");
  assert.deepEqual(connection.events, ["close downstream"]);
  assert.equal(connection.closed, true);
  assert.deepEqual(traced(trace), [
    enter("proxy_on_downstream_data", [2, 3, 0], { bytes: 3, endOfStream: false }),
    host("proxy_close_stream", [2], "Ok", { stream: "Downstream" }),
    host("proxy_close_stream", [3], "Ok", { stream: "Upstream" }),
    leave("proxy_on_downstream_data", 0, { status: "Continue" }),
  ]);
  // the close came after the callback had returned
  assert.deepEqual(tracedWhenClosed, [4]);
  connection.close("local");
  plugin.close();
});

test("proxy_close_stream in proxy_on_new_connection keeps tcp_proxy from starting whatever the status", () => {
  const wat = pluginModule(`
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (drop (call $close_stream (i32.const 2)))
      (drop (call $continue_stream (i32.const 2)))
      (i32.const 0))`);
  const { plugin } = startTestPlugin(wat);
  const connection = new TestConnection(plugin);
  assert.equal(connection.newConnection(), "Continue");
  assert.deepEqual([connection.closed, connection.upstreamStarted, connection.events], [true, false, ["close downstream"]]);
  plugin.close();
});
