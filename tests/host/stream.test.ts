// docs/envoy-host.md §3: StopIteration, proxy_continue_stream and proxy_close_stream on a TCP connection.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pluginModule } from "../helpers/wat.ts";
import { bytes, enter, host, startTestPlugin, TestConnection, traced } from "../helpers/wasm-host.ts";

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
  connection.filter.onDownstreamData(bytes("abc"), false);
  connection.filter.onDownstreamData(bytes("def"), false);
  assert.deepEqual(connection.events, []);
  connection.filter.onDownstreamData(bytes("ghi"), false);
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
  connection.filter.onUpstreamData(bytes("one"), false);
  connection.filter.onUpstreamData(bytes("four"), false);
  assert.deepEqual(connection.events, ["close downstream", 'to client "one"', 'to client "four"']);
  assert.deepEqual(
    lines.map((line) => line.split("] ").slice(2).join("] ")),
    ["proxy_on_upstream_data returned StopIteration, which is not supported for upstream data: the data is forwarded"],
  );
  assert.match(lines[0], /\]\[warning\]\[wasm\] \[host\/wasm\/plugin\.ts\] /);
  plugin.close();
});

test("any non-zero return is StopIteration: 7 and -1 hold the bytes as 1 does", () => {
  for (const status of [7, -1]) {
    const wat = pluginModule(`
      (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32) (i32.const ${status}))`);
    const { plugin } = startTestPlugin(wat);
    const connection = new TestConnection(plugin);
    connection.filter.onDownstreamData(bytes("abc"), false);
    assert.deepEqual(connection.events, [], `return ${status}`);
    plugin.close();
  }
});
