// docs/envoy-host.md §7: Envoy's log line, levels, and proxy_log's prefixes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "../../host/log.ts";
import type { LogLevelName } from "../../host/loggers.ts";
import { createStatsStore } from "../../host/stats.ts";
import { startWasmPlugin } from "../../host/wasm/api.ts";
import { pluginModule, writeWat } from "../helpers/wat.ts";
import { TestConnection } from "../../host/testing/index.ts";
import { host, hostCalls, NOW, pluginConfig, startTestPlugin, TIMESTAMP, traced } from "../helpers/wat-filters.ts";

test("Envoy's line format, in local time, with spdlog's level names", () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "info", componentLevels: {}, write: (l) => lines.push(l), now: () => NOW + 7 });
  logger.log("wasm", "warn", "source/extensions/common/wasm/context.cc:1154", "careful", 3);
  assert.deepEqual(lines, [
    "[2026-11-25 10:00:00.007][3][warning][wasm] [source/extensions/common/wasm/context.cc:1154] careful",
  ]);
});

test("a component's own level overrides the default; off prints nothing", () => {
  const logger = createLogger({ level: "warn", componentLevels: { wasm: "debug", admin: "off" }, write: () => {} });
  assert.equal(logger.enabled("wasm", "debug"), true);
  assert.equal(logger.enabled("wasm", "trace"), false);
  assert.equal(logger.enabled("main", "info"), false);
  assert.equal(logger.enabled("main", "error"), true);
  assert.equal(logger.enabled("admin", "critical"), false);
});

const LOGGING = pluginModule(`
  (data (i32.const 1024) "configured")
  (data (i32.const 1040) "new connection")
  (data (i32.const 1060) "detail")
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 1024) (i32.const 10)))
    (i32.const 1))
  (func (export "proxy_on_new_connection") (param i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 1040) (i32.const 14)))
    (drop (call $log (i32.const 1) (i32.const 1060) (i32.const 6)))
    (drop (call $log (i32.const 6) (i32.const 1060) (i32.const 6)))
    (i32.const 0))`);

test("proxy_log: a root context leaves out the plugin name, a connection context has it; vm_id empty is left out", () => {
  const { plugin, lines, trace } = startTestPlugin(LOGGING, { plugin: { name: "my_plugin" } });
  new TestConnection(plugin).newConnection();
  const source = "[source/extensions/common/wasm/context.cc:1151]";
  assert.deepEqual(lines, [
    // canary, main thread, worker
    `${TIMESTAMP}[1][info][wasm] ${source} wasm log tcp_connection_logger: configured`,
    `${TIMESTAMP}[1][info][wasm] ${source} wasm log tcp_connection_logger: configured`,
    `${TIMESTAMP}[2][info][wasm] ${source} wasm log tcp_connection_logger: configured`,
    `${TIMESTAMP}[2][info][wasm] ${source} wasm log my_plugin tcp_connection_logger: new connection`,
  ]);
  assert.deepEqual(traced(trace).at(-2), host("proxy_log", [6, 1060, 6], "BadArgument"));
  plugin.close();
});

test("the vm_id joins the prefix when set; debug lines print when the wasm level allows", () => {
  const { plugin, lines } = startTestPlugin(LOGGING, { plugin: { vmId: "vm1" }, level: "debug" });
  new TestConnection(plugin).newConnection();
  assert.deepEqual(
    lines.slice(-2).map((line) => line.split("] ").at(-1)),
    [
      "wasm log tcp_connection_logger tcp_connection_logger vm1: new connection",
      "wasm log tcp_connection_logger tcp_connection_logger vm1: detail",
    ],
  );
  assert.match(lines.at(-1)!, /\]\[debug\]\[wasm\] /);
  plugin.close();
});

test("proxy_log levels 0..5 print as trace, debug, info, warning, error, critical, each at its ENVOY_LOG's line; 6 and above are BadArgument", () => {
  const wat = pluginModule(`
    (data (i32.const 1024) "m")
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (local $level i32)
      (loop $levels
        (drop (call $log (local.get $level) (i32.const 1024) (i32.const 1)))
        (local.set $level (i32.add (local.get $level) (i32.const 1)))
        (br_if $levels (i32.le_u (local.get $level) (i32.const 7))))
      (i32.const 0))`);
  const { plugin, lines, trace } = startTestPlugin(wat, { level: "trace" });
  new TestConnection(plugin).newConnection();
  // Envoy 1.39.0's Context::log, source/extensions/common/wasm/context.cc
  assert.deepEqual(
    lines.map((line) => line.match(/\]\[(\w+)\]\[wasm\] \[([^\]]+)\] /)!.slice(1)),
    [
      ["trace", "source/extensions/common/wasm/context.cc:1145"],
      ["debug", "source/extensions/common/wasm/context.cc:1148"],
      ["info", "source/extensions/common/wasm/context.cc:1151"],
      ["warning", "source/extensions/common/wasm/context.cc:1154"],
      ["error", "source/extensions/common/wasm/context.cc:1157"],
      ["critical", "source/extensions/common/wasm/context.cc:1160"],
    ],
  );
  assert.deepEqual(traced(trace).slice(-3, -1), [host("proxy_log", [6, 1024, 1], "BadArgument"), host("proxy_log", [7, 1024, 1], "BadArgument")]);
  plugin.close();
});

// Counts the level proxy_get_log_level reads, plus one (a counter increment must be > 0).
const LEVEL_PROBE = pluginModule(`
  (data (i32.const 1024) "log_level")
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $define_metric (i32.const 0) (i32.const 1024) (i32.const 9) (i32.const 2040)))
    (i32.const 1))
  (func (export "proxy_on_new_connection") (param i32) (result i32)
    (drop (call $get_log_level (i32.const 2048)))
    (drop (call $increment_metric (i32.load (i32.const 2040))
      (i64.add (i64.extend_i32_u (i32.load (i32.const 2048))) (i64.const 1))))
    (i32.const 0))`, {
  abi: "proxy_abi_version_0_2_1",
  imports: `(import "env" "proxy_get_log_level" (func $get_log_level (param i32) (result i32)))`,
});

test("proxy_get_log_level (ABI 0.2.1): the wasm logger's level, trace 0 .. critical 5, off 6", () => {
  const levels: LogLevelName[] = ["trace", "debug", "info", "warn", "error", "critical", "off"];
  levels.forEach((level, rank) => {
    const { plugin, stats, trace } = startTestPlugin(LEVEL_PROBE, { level });
    new TestConnection(plugin).newConnection();
    assert.deepEqual(
      hostCalls(trace).find((call) => call.name === "proxy_get_log_level"),
      host("proxy_get_log_level", [2048], "Ok", { level }),
    );
    assert.equal(stats.get("wasmcustom.log_level"), BigInt(rank + 1), level);
    plugin.close();
  });
});

test("proxy_get_log_level follows the wasm component's own level, not the default", () => {
  const stats = createStatsStore();
  const plugin = startWasmPlugin({
    plugin: pluginConfig(),
    wasmPath: writeWat(LEVEL_PROBE),
    concurrency: 1,
    logger: createLogger({ level: "trace", componentLevels: { wasm: "error" }, write: () => {} }),
    stats,
    propertyNames: "current",
  });
  new TestConnection(plugin).newConnection();
  assert.equal(stats.get("wasmcustom.log_level"), 5n);
  plugin.close();
});

test("a message that is not UTF-8 is written as its bytes, as Envoy writes it; a WASI write's parts are joined first", () => {
  const text: string[] = [];
  const raw: Buffer[] = [];
  const wat = pluginModule(`
    (data (i32.const 1024) "a\\ed\\a0\\80b")
    (data (i32.const 1040) "caf\\c3\\a9")
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (drop (call $log (i32.const 2) (i32.const 1024) (i32.const 5)))
      ;; "café" in two iovecs at 200 that split the é: "caf\\c3" and "\\a9"
      (i32.store (i32.const 200) (i32.const 1040))
      (i32.store (i32.const 204) (i32.const 4))
      (i32.store (i32.const 208) (i32.const 1044))
      (i32.store (i32.const 212) (i32.const 1))
      (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 2) (i32.const 300)))
      (i32.const 0))`);
  const plugin = startWasmPlugin({
    plugin: pluginConfig(),
    wasmPath: writeWat(wat),
    concurrency: 1,
    logger: createLogger({
      level: "info",
      componentLevels: {},
      write: (line) => text.push(line),
      writeBytes: (line) => raw.push(Buffer.from(line)),
      now: () => NOW,
    }),
    stats: createStatsStore(),
    propertyNames: "current",
  });
  new TestConnection(plugin).newConnection();
  const prefix = `${TIMESTAMP}[2][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log tcp_connection_logger tcp_connection_logger: `;
  assert.deepEqual(raw, [Buffer.concat([Buffer.from(prefix), Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62])])]);
  assert.deepEqual(text, [`${prefix}café`]);
  plugin.close();
});

test("a logger given only a text writer shows a message's invalid bytes as U+FFFD", () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "info", componentLevels: {}, write: (l) => lines.push(l), now: () => NOW });
  logger.log("wasm", "info", "here", Uint8Array.of(0x61, 0xff), 2);
  assert.deepEqual(lines, [`${TIMESTAMP}[2][info][wasm] [here] a\uFFFD`]);
});
