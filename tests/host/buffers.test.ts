// docs/envoy-host.md §4: reading and editing buffers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pluginModule } from "../helpers/wat.ts";
import { TestConnection } from "../../host/testing/index.ts";
import { bytes, host, hostCalls, startTestPlugin, type TestPlugin } from "../helpers/wat-filters.ts";

/**
 * `$read` calls proxy_get_buffer_bytes with out-pointers 100 and 104 (primed with 0xffffffff);
 * `$show` logs the block at info, so its bytes appear in the log and its pointer and size in the
 * trace (as the words of `proxy_log(2, <ptr>, <size>)`).
 */
const HELPERS = `
  (func $read (param $type i32) (param $start i32) (param $length i32)
    (i32.store (i32.const 100) (i32.const -1))
    (i32.store (i32.const 104) (i32.const -1))
    (drop (call $get_buffer_bytes (local.get $type) (local.get $start) (local.get $length) (i32.const 100) (i32.const 104))))
  (func $show
    (drop (call $log (i32.const 2) (i32.load (i32.const 100)) (i32.load (i32.const 104)))))`;

function downstreamDataTest(body: string, data = "hello"): { run: TestPlugin; connection: TestConnection } {
  const run = startTestPlugin(
    pluginModule(`${HELPERS}
      (data (i32.const 1024) "hello ")
      (data (i32.const 1040) "HELLO")
      (data (i32.const 1050) "!")
      (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32) ${body} (i32.const 0))`),
  );
  run.trace.length = 0;
  const connection = new TestConnection(run.plugin);
  connection.downstream(bytes(data), false);
  return { run, connection };
}

test("nothing to return: 0 and 0 written, Ok, and malloc not called", () => {
  const { run } = downstreamDataTest(`(call $read (i32.const 2) (i32.const 0) (i32.const 0)) (call $show)`);
  assert.deepEqual(hostCalls(run.trace), [
    host("proxy_get_buffer_bytes", [2, 0, 0, 100, 104], "Ok", { buffer: "NetworkDownstreamData", start: 0, bytes: 0 }),
    host("proxy_log", [2, 0, 0], "Ok", { level: "info", printed: true }),
  ]);
  assert.equal(run.plugin.diagnostics()[1].mallocCalls, 0);
  run.plugin.close();
});

test("the range is clamped to the buffer: (1, 0xffffffff) reads all but the first byte", () => {
  const { run } = downstreamDataTest(`(call $read (i32.const 2) (i32.const 1) (i32.const -1)) (call $show)`);
  assert.deepEqual(hostCalls(run.trace), [
    host("proxy_get_buffer_bytes", [2, 1, -1, 100, 104], "Ok", { buffer: "NetworkDownstreamData", start: 1, bytes: 4 }),
    host("proxy_log", [2, 4096, 4], "Ok", { level: "info", printed: true }),
  ]);
  assert.match(run.lines.at(-1)!, /: ello$/);
  const { mallocCalls, bytesCopiedIn } = run.plugin.diagnostics()[1];
  assert.deepEqual({ mallocCalls, bytesCopiedIn }, { mallocCalls: 1, bytesCopiedIn: 4 });
  run.plugin.close();
});

test("a start past the end returns nothing", () => {
  const { run } = downstreamDataTest(`(call $read (i32.const 2) (i32.const 9) (i32.const 4)) (call $show)`);
  assert.deepEqual(hostCalls(run.trace)[1], host("proxy_log", [2, 0, 0], "Ok", { level: "info", printed: true }));
  run.plugin.close();
});

test("a buffer type above 8 is BadArgument; HTTP body types are NotFound on a connection", () => {
  const { run } = downstreamDataTest(`
    (call $read (i32.const 9) (i32.const 0) (i32.const 4))
    (call $read (i32.const 0) (i32.const 0) (i32.const 4))
    (drop (call $get_buffer_status (i32.const 9) (i32.const 100) (i32.const 104)))`);
  assert.deepEqual(hostCalls(run.trace), [
    host("proxy_get_buffer_bytes", [9, 0, 4, 100, 104], "BadArgument"),
    host("proxy_get_buffer_bytes", [0, 0, 4, 100, 104], "NotFound", { buffer: "HttpRequestBody" }),
    host("proxy_get_buffer_status", [9, 100, 104], "BadArgument"),
  ]);
  run.plugin.close();
});

test("buffer status writes the length and flags 0", () => {
  const { run } = downstreamDataTest(`
    (drop (call $get_buffer_status (i32.const 2) (i32.const 100) (i32.const 104)))
    (call $show)`);
  assert.deepEqual(hostCalls(run.trace), [
    host("proxy_get_buffer_status", [2, 100, 104], "Ok", { buffer: "NetworkDownstreamData", bytes: 5 }),
    host("proxy_log", [2, 5, 0], "Ok", { level: "info", printed: true }),
  ]);
  run.plugin.close();
});

test("network buffers outside their callback are empty, never NotFound", () => {
  const { run } = downstreamDataTest(`(call $read (i32.const 3) (i32.const 0) (i32.const 4)) (call $show)`);
  assert.deepEqual(hostCalls(run.trace), [
    host("proxy_get_buffer_bytes", [3, 0, 4, 100, 104], "Ok", { buffer: "NetworkUpstreamData", start: 0, bytes: 0 }),
    host("proxy_log", [2, 0, 0], "Ok", { level: "info", printed: true }),
  ]);
  run.plugin.close();
});

test("set_buffer_bytes copies the module's bytes: reusing its memory afterwards changes nothing passed on", () => {
  // every byte replaced by "HELLO", then the module writes over where "HELLO" was
  const { run, connection } = downstreamDataTest(`
    (drop (call $set_buffer_bytes (i32.const 2) (i32.const 0) (i32.const 5) (i32.const 1040) (i32.const 5)))
    (i64.store (i32.const 1040) (i64.const 0x7878787878787878))`);
  assert.deepEqual(connection.events, ['to upstream "HELLO"']);
  run.plugin.close();
});

test("set_buffer_bytes: start 0 drains then prepends, start at the end appends, between is BadArgument", () => {
  const { run, connection } = downstreamDataTest(`
    (drop (call $set_buffer_bytes (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 6)))
    (drop (call $set_buffer_bytes (i32.const 2) (i32.const 0) (i32.const 5) (i32.const 1040) (i32.const 5)))
    (drop (call $set_buffer_bytes (i32.const 2) (i32.const 99) (i32.const 0) (i32.const 1050) (i32.const 1)))
    (drop (call $set_buffer_bytes (i32.const 2) (i32.const 3) (i32.const 0) (i32.const 1050) (i32.const 1)))
    (drop (call $set_buffer_bytes (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 1050) (i32.const 1)))`, "world");
  assert.deepEqual(hostCalls(run.trace), [
    host("proxy_set_buffer_bytes", [2, 0, 0, 1024, 6], "Ok", { buffer: "NetworkDownstreamData", replaced: 0, bytes: 6 }),
    host("proxy_set_buffer_bytes", [2, 0, 5, 1040, 5], "Ok", { buffer: "NetworkDownstreamData", replaced: 5, bytes: 5 }),
    host("proxy_set_buffer_bytes", [2, 99, 0, 1050, 1], "Ok", { buffer: "NetworkDownstreamData", appended: 1 }),
    host("proxy_set_buffer_bytes", [2, 3, 0, 1050, 1], "BadArgument", { buffer: "NetworkDownstreamData" }),
    host("proxy_set_buffer_bytes", [7, 0, 0, 1050, 1], "NotFound", { buffer: "PluginConfiguration" }),
  ]);
  assert.deepEqual(connection.events, ['to upstream "HELLO world!"']);
  run.plugin.close();
});

test("the plugin configuration is readable in the root's context_create and configure, not in vm_start", () => {
  // cpp-host ContextBase::onStart sets the plugin around context_create only; onConfigure around configure
  const run = startTestPlugin(
    pluginModule(`${HELPERS}
      (func (export "proxy_on_context_create") (param i32 i32)
        (call $read (i32.const 7) (i32.const 0) (i32.const -1)) (call $show))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (call $read (i32.const 7) (i32.const 0) (i32.const -1))
        (i32.const 1))
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (call $read (i32.const 7) (i32.const 0) (i32.const -1)) (call $show)
        (drop (call $set_buffer_bytes (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1)))
        (i32.const 1))`),
    { plugin: { configuration: '{"metadata_namespace":"location"}' }, concurrency: 1 },
  );
  assert.deepEqual(hostCalls(run.trace).slice(0, 6), [
    host("proxy_get_buffer_bytes", [7, 0, -1, 100, 104], "Ok", { buffer: "PluginConfiguration", start: 0, bytes: 33 }),
    host("proxy_log", [2, 4096, 33], "Ok", { level: "info", printed: true }),
    host("proxy_get_buffer_bytes", [7, 0, -1, 100, 104], "NotFound", { buffer: "PluginConfiguration" }),
    host("proxy_get_buffer_bytes", [7, 0, -1, 100, 104], "Ok", { buffer: "PluginConfiguration", start: 0, bytes: 33 }),
    host("proxy_log", [2, 4129, 33], "Ok", { level: "info", printed: true }),
    host("proxy_set_buffer_bytes", [7, 0, 0, 0, 1], "BadArgument", { buffer: "PluginConfiguration" }),
  ]);
  assert.deepEqual(
    run.lines.slice(0, 2).map((line) => line.split(": ")[1]),
    ['{"metadata_namespace":"location"}', '{"metadata_namespace":"location"}'],
  );
  // and not in a connection's context_create
  run.trace.length = 0;
  new TestConnection(run.plugin).newConnection();
  assert.deepEqual(hostCalls(run.trace)[0], host("proxy_get_buffer_bytes", [7, 0, -1, 100, 104], "NotFound", { buffer: "PluginConfiguration" }));
  run.plugin.close();
});

test("the VM configuration is readable in every context, at any time, and read-only (Envoy Context::getBuffer)", () => {
  const read = `(call $read (i32.const 6) (i32.const 0) (i32.const -1)) (call $show)`;
  const run = startTestPlugin(
    pluginModule(`${HELPERS}
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32) ${read} (i32.const 1))
      (func (export "proxy_on_configure") (param i32 i32) (result i32) ${read} (i32.const 1))
      (func (export "proxy_on_new_connection") (param i32) (result i32)
        ${read}
        (drop (call $set_buffer_bytes (i32.const 6) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1)))
        (i32.const 0))`),
    { plugin: { vmConfiguration: "vm-config" }, concurrency: 1 },
  );
  run.trace.length = 0;
  new TestConnection(run.plugin).newConnection();
  assert.deepEqual(hostCalls(run.trace), [
    host("proxy_get_buffer_bytes", [6, 0, -1, 100, 104], "Ok", { buffer: "VmConfiguration", start: 0, bytes: 9 }),
    // the worker VM's third block: vm_start and configure had the first two
    host("proxy_log", [2, 4114, 9], "Ok", { level: "info", printed: true }),
    host("proxy_set_buffer_bytes", [6, 0, 0, 0, 1], "BadArgument", { buffer: "VmConfiguration" }),
  ]);
  // vm_start and configure of the canary, the main thread's VM and the worker's, then the connection
  assert.deepEqual(
    run.lines.map((line) => line.split(": ")[1]),
    Array(7).fill("vm-config"),
  );
  run.plugin.close();
});

test("the other buffer types (1, 4, 5, 8) and the plugin configuration are NotFound on a connection", () => {
  const { run } = downstreamDataTest(`
    (call $read (i32.const 1) (i32.const 0) (i32.const 4))
    (call $read (i32.const 4) (i32.const 0) (i32.const 4))
    (call $read (i32.const 5) (i32.const 0) (i32.const 4))
    (call $read (i32.const 8) (i32.const 0) (i32.const 4))
    (call $read (i32.const 7) (i32.const 0) (i32.const 4))`);
  assert.deepEqual(hostCalls(run.trace), [
    host("proxy_get_buffer_bytes", [1, 0, 4, 100, 104], "NotFound", { buffer: "HttpResponseBody" }),
    host("proxy_get_buffer_bytes", [4, 0, 4, 100, 104], "NotFound", { buffer: "HttpCallResponseBody" }),
    host("proxy_get_buffer_bytes", [5, 0, 4, 100, 104], "NotFound", { buffer: "GrpcReceiveBuffer" }),
    host("proxy_get_buffer_bytes", [8, 0, 4, 100, 104], "NotFound", { buffer: "CallData" }),
    host("proxy_get_buffer_bytes", [7, 0, 4, 100, 104], "NotFound", { buffer: "PluginConfiguration" }),
  ]);
  run.plugin.close();
});

test("network buffers in a root context are empty, never NotFound", () => {
  const run = startTestPlugin(
    pluginModule(`${HELPERS}
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (call $read (i32.const 2) (i32.const 0) (i32.const -1)) (call $show)
        (call $read (i32.const 3) (i32.const 0) (i32.const -1)) (call $show)
        (i32.const 1))`),
  );
  assert.deepEqual(hostCalls(run.trace).slice(0, 4), [
    host("proxy_get_buffer_bytes", [2, 0, -1, 100, 104], "Ok", { buffer: "NetworkDownstreamData", start: 0, bytes: 0 }),
    host("proxy_log", [2, 0, 0], "Ok", { level: "info", printed: true }),
    host("proxy_get_buffer_bytes", [3, 0, -1, 100, 104], "Ok", { buffer: "NetworkUpstreamData", start: 0, bytes: 0 }),
    host("proxy_log", [2, 0, 0], "Ok", { level: "info", printed: true }),
  ]);
  run.plugin.close();
});

test("results reach the module as Envoy's numbers: Ok 0, NotFound 1, BadArgument 2, InvalidMemoryAccess 6, Unimplemented 12", () => {
  // each result is shown in the trace as a proxy_log argument
  const { run } = downstreamDataTest(`
    (drop (call $log (i32.const 0)
      (call $get_buffer_status (i32.const 2) (i32.const 100) (i32.const 104))
      (call $get_buffer_status (i32.const 0) (i32.const 100) (i32.const 104))))
    (drop (call $log (i32.const 0)
      (call $get_buffer_status (i32.const 9) (i32.const 100) (i32.const 104))
      (call $get_buffer_status (i32.const 2) (i32.const 0x7ffffff0) (i32.const 104))))
    (drop (call $log (i32.const 0) (call $continue_stream (i32.const 3)) (i32.const 0)))`);
  assert.deepEqual(
    hostCalls(run.trace).filter((call) => call.name === "proxy_log"),
    [
      host("proxy_log", [0, 0, 1], "Ok", { level: "trace", printed: false }),
      host("proxy_log", [0, 2, 6], "Ok", { level: "trace", printed: false }),
      host("proxy_log", [0, 12, 0], "Ok", { level: "trace", printed: false }),
    ],
  );
  run.plugin.close();
});
