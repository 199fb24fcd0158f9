// The testing API (host/testing) itself: what startFilter passes to the filter and keeps of it,
// and what a TestConnection reports of what the filter did — with small WAT filters whose every
// answer is known, so that each report can be checked exactly.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PluginStartError } from "../../host/wasm/api.ts";
import { FilterStartError, startFilter, TestConnection, type FilterOptions } from "../../host/testing/index.ts";
import { pluginModule, writeWat } from "../helpers/wat.ts";

process.env.TZ = "UTC";
const NOW = Date.UTC(2026, 10, 25, 10, 0, 0);

function start(body: string, options: Omit<FilterOptions, "wasm"> = {}) {
  return startFilter({ wasm: writeWat(pluginModule(body)), ...options });
}

function watBytes(text: string): string {
  return [...Buffer.from(text)].map((byte) => "\\" + byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Logs the plugin configuration at configure, and for each connection the value of
 * source.address and destination.address, or "NotFound"; logs "debug line" at debug.
 */
const REPORTER = `
  (data (i32.const 2048) "${watBytes("source\0address")}")
  (data (i32.const 2080) "${watBytes("destination\0address")}")
  (data (i32.const 2112) "NotFound")
  (data (i32.const 2128) "debug line")
  (func $log_property (param $path i32) (param $size i32)
    (if (i32.eqz (call $get_property (local.get $path) (local.get $size) (i32.const 100) (i32.const 104)))
      (then (drop (call $log (i32.const 2) (i32.load (i32.const 100)) (i32.load (i32.const 104)))))
      (else (drop (call $log (i32.const 2) (i32.const 2112) (i32.const 8))))))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $get_buffer_bytes (i32.const 7) (i32.const 0) (local.get 1) (i32.const 100) (i32.const 104)))
    (drop (call $log (i32.const 2) (i32.load (i32.const 100)) (i32.load (i32.const 104))))
    (i32.const 1))
  (func (export "proxy_on_new_connection") (param i32) (result i32)
    (call $log_property (i32.const 2048) (i32.const 14))
    (call $log_property (i32.const 2080) (i32.const 19))
    (drop (call $log (i32.const 1) (i32.const 2128) (i32.const 10)))
    (i32.const 0))`;

test("startFilter: the configuration reaches proxy_on_configure; lines as Envoy prints them; messages without the prefix", () => {
  const filter = start(REPORTER, { rootId: "reporter", configuration: '{"a": 1}', now: () => NOW });
  // the canary, the main thread's VM and the worker each configure
  assert.deepEqual(filter.messages(), Array(3).fill('info {"a": 1}'));
  assert.equal(
    filter.lines[0],
    '[2026-11-25 10:00:00.000][1][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log reporter: {"a": 1}',
  );
  filter.connect({ source: { address: "10.0.0.1", port: 40000 }, destination: { address: "::1", port: 18000 } });
  assert.deepEqual(filter.messages().slice(3), ["info 10.0.0.1:40000", "info [::1]:18000"]);
  // the name defaults to the root id: the connection's lines carry both
  assert.match(filter.lines.at(-1)!, /\] wasm log reporter reporter: \[::1\]:18000$/);
  filter.close();
});

test("connections: default addresses, and absent ones answered NotFound", () => {
  const filter = start(REPORTER);
  filter.connect();
  filter.connect({ source: null, destination: null });
  assert.deepEqual(filter.messages().slice(3), ["info 127.0.0.1:4660", "info 127.0.0.1:18000", "info NotFound", "info NotFound"]);
  filter.close();
});

/** Logs upstream.address at each upstream chunk. */
const UPSTREAM_REPORTER = `
  (data (i32.const 2048) "${watBytes("upstream\0address")}")
  (func (export "proxy_on_upstream_data") (param i32 i32 i32) (result i32)
    (drop (call $get_property (i32.const 2048) (i32.const 16) (i32.const 100) (i32.const 104)))
    (drop (call $log (i32.const 2) (i32.load (i32.const 100)) (i32.load (i32.const 104))))
    (i32.const 0))`;

test("connections: an IPv6 address reads as Envoy writes it (inet_ntop), source, destination and upstream; IPv4 and a pipe as given", () => {
  const filter = start(REPORTER);
  filter.connect({ source: { address: "FD00:0:0::7", port: 40000 }, destination: { address: "2001:DB8:0:0:0:0:0:1", port: 18000 } });
  filter.connect({ source: { address: "::FFFF:10.0.0.1", port: 40001 }, destination: { address: "@envoy-pipe", port: 0 } });
  assert.deepEqual(filter.messages().slice(3), [
    "info [fd00::7]:40000",
    "info [2001:db8::1]:18000",
    "info [::ffff:10.0.0.1]:40001",
    "info @envoy-pipe:0",
  ]);
  filter.close();

  const upstreamReporter = start(UPSTREAM_REPORTER);
  const connection = upstreamReporter.connect();
  connection.upstreamConnected({ address: { address: "FD00:0:0::7", port: 8099 }, metadata: {} });
  connection.upstream("ok");
  assert.deepEqual(upstreamReporter.messages(), ["info [fd00::7]:8099"]);
  upstreamReporter.close();
});

test("logLevel and setLogLevel: the wasm logger's level, which the filter sees at its next callback", () => {
  const filter = start(REPORTER, { logLevel: "debug" });
  filter.connect();
  assert.equal(filter.messages().at(-1), "debug debug line");
  filter.setLogLevel("warn");
  filter.connect();
  assert.equal(filter.messages().length, 3 + 3);
  filter.close();
});

test("a refused start throws FilterStartError, a PluginStartError carrying the lines and messages", () => {
  const body = `
    (data (i32.const 2048) "no thanks")
    (func (export "proxy_on_configure") (param i32 i32) (result i32)
      (drop (call $log (i32.const 4) (i32.const 2048) (i32.const 9)))
      (i32.const 0))`;
  assert.throws(
    () => start(body, { rootId: "picky" }),
    (error) => {
      assert.ok(error instanceof FilterStartError && error instanceof PluginStartError);
      assert.equal(error.message, "Unable to create Wasm plugin picky: Wasm VM failed to start: on_configure returned 0");
      assert.deepEqual(error.messages, ["error no thanks"]);
      // the filter's line, then Envoy's from the canary
      assert.equal(error.lines.length, 2);
      assert.ok(error.lines[1].endsWith("[error][wasm] [source/extensions/common/wasm/wasm.cc:109] Wasm VM failed Failed to configure base Wasm plugin"), error.lines[1]);
      return true;
    },
  );
});

test("metric: the filter's counter by its own name, summed over the VMs; undefined when never defined", () => {
  const body = `
    (data (i32.const 2048) "hits")
    (func (export "proxy_on_configure") (param i32 i32) (result i32)
      (drop (call $define_metric (i32.const 0) (i32.const 2048) (i32.const 4) (i32.const 100)))
      (i32.const 1))
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (drop (call $increment_metric (i32.const 4) (i64.const 1)))
      (i32.const 0))`;
  const filter = start(body, { concurrency: 2 });
  for (let i = 0; i < 3; i++) filter.connect();
  assert.equal(filter.metric("hits"), 3n);
  assert.equal(filter.metric("misses"), undefined);
  assert.equal(filter.diagnostics().length, 3);
  filter.close();
});

/** Upper-cases nothing: replaces each downstream chunk with "<" + chunk + ">" and appends "!" upstream. */
const EDITOR = `
  (data (i32.const 2048) "<")
  (data (i32.const 2049) ">")
  (data (i32.const 2050) "!")
  (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
    (drop (call $set_buffer_bytes (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 2048) (i32.const 1)))
    (drop (call $set_buffer_bytes (i32.const 2) (i32.const -1) (i32.const 0) (i32.const 2049) (i32.const 1)))
    (i32.const 0))
  (func (export "proxy_on_upstream_data") (param i32 i32 i32) (result i32)
    (drop (call $set_buffer_bytes (i32.const 3) (i32.const -1) (i32.const 0) (i32.const 2050) (i32.const 1)))
    (i32.const 0))`;

test("the bytes the filter passes on, after its edits, each way; events as text", () => {
  const filter = start(EDITOR);
  const connection = filter.connect();
  assert.equal(connection.downstream("ab"), "Continue");
  connection.upstream("ok");
  connection.downstreamEnd();
  connection.upstreamEnd();
  assert.equal(connection.upstreamBytes.toString(), "<ab><>");
  assert.equal(connection.clientBytes.toString(), "ok!!");
  assert.deepEqual(connection.events, ['to upstream "<ab>"', 'to client "ok!"', 'to upstream "<>" eos', 'to client "!" eos']);
  assert.deepEqual(connection.bytesForwarded, { upstream: 6, client: 4 });
  assert.deepEqual([connection.closed, connection.upstreamStarted, connection.holdingDownstream], [false, true, false]);
  connection.close("remote");
  assert.equal(filter.activeConnections, 0);
  filter.close();
});

test("record: false keeps the byte counts only", () => {
  const filter = start(EDITOR);
  const connection = filter.accept({ record: false });
  connection.newConnection();
  connection.downstream("abc");
  assert.deepEqual([connection.bytesForwarded, connection.events], [{ upstream: 5, client: 0 }, []]);
  assert.throws(() => connection.upstreamBytes, /record: false/);
  filter.close();
});

/** StopIteration to the new connection; downstream chunks: "hold" is held, "go" continues, "close" closes. */
const GATE = `
  (func (export "proxy_on_new_connection") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
    (if (i32.eq (local.get 1) (i32.const 5)) (then (drop (call $close_stream (i32.const 2))) (drop (call $close_stream (i32.const 3)))))
    (if (result i32) (i32.eq (local.get 1) (i32.const 4)) (then (i32.const 1)) (else (i32.const 0))))`;

test("StopIteration: the new connection's status, tcp_proxy held until the filter passes bytes on, bytes held", () => {
  const filter = start(GATE);
  const connection = filter.accept();
  assert.equal(connection.newConnectionStatus, undefined);
  assert.equal(connection.newConnection(), "StopIteration");
  assert.deepEqual([connection.newConnectionStatus, connection.upstreamStarted], ["StopIteration", false]);
  assert.equal(connection.downstream("hold"), "StopIteration");
  assert.deepEqual([connection.holdingDownstream, connection.upstreamStarted, connection.events], [true, false, []]);
  // held bytes come again with the next: 6 bytes, which pass
  assert.equal(connection.downstream("go"), "Continue");
  assert.deepEqual([connection.holdingDownstream, connection.upstreamStarted, connection.events], [false, true, ['to upstream "holdgo"']]);
  filter.close();
});

test("a close is reported once for both streams; nothing the filter passes on afterwards goes anywhere", () => {
  const filter = start(GATE);
  const connection = filter.connect();
  assert.equal(connection.downstream("close"), "Continue");
  connection.upstream("late");
  assert.deepEqual([connection.closed, connection.events, connection.bytesForwarded], [true, ["close downstream"], { upstream: 0, client: 0 }]);
  // closed before tcp_proxy ever saw the connection: it never connects
  assert.equal(connection.upstreamStarted, false);
  connection.close("local");
  filter.close();
});

test("contextId: the connection's context id in its VM, as the filter's log lines number it", () => {
  const filter = start("", { concurrency: 2 });
  // two workers, each numbering its contexts from its root context (1): connections alternate
  assert.deepEqual([filter.accept(), filter.accept(), filter.accept()].map((c) => c.contextId), [2, 2, 3]);
  filter.close();
});

test("trace: every call across the ABI when asked for, nothing otherwise", () => {
  const traced = start(GATE, { trace: true });
  traced.connect().downstream("go");
  assert.deepEqual(
    traced.trace.filter((event) => event.kind === "enter" && event.name !== "proxy_on_context_create").slice(-2).map((event) => event.name),
    ["proxy_on_new_connection", "proxy_on_downstream_data"],
  );
  traced.close();
  const untraced = start(GATE);
  untraced.connect();
  assert.deepEqual(untraced.trace, []);
  untraced.close();
});

test("a TestConnection drives any filter factory, such as a plugin the test started itself", () => {
  const filter = start(EDITOR);
  const connection = new TestConnection({ createFilter: (info, callbacks) => filter.createFilter(info, callbacks) }, { listenerName: "main" });
  connection.newConnection();
  connection.downstream("x");
  assert.deepEqual(connection.events, ['to upstream "<x>"']);
  filter.close();
});
