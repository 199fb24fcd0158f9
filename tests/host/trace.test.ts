// --trace: after the raw words of a call, what they mean; and each host call's line before what it printed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "../../host/log.ts";
import { createStatsStore } from "../../host/stats.ts";
import { startWasmPlugin, traceLine, traceLines } from "../../host/wasm/api.ts";
import { pluginModule, writeWat } from "../helpers/wat.ts";
import { TestConnection } from "../../host/testing/index.ts";
import { bytes, host, hostCalls, NOW, pluginConfig, startTestPlugin, TIMESTAMP } from "../helpers/wat-filters.ts";

const CLUSTER = {
  name: "web_service",
  metadata: { filter_metadata: { location: { az: "ap-northeast-1a", weight: 2.5, canary: true } } },
};

function watBytes(text: string): string {
  return [...Buffer.from(text)].map((byte) => "\\" + byte.toString(16).padStart(2, "0")).join("");
}

/** A module whose downstream data callback reads each path, out-pointers 100 and 104. */
function readsProperties(paths: string[]): string {
  const data = paths.map((path, i) => `(data (i32.const ${2048 + i * 128}) "${watBytes(path)}")`).join("\n");
  const reads = paths
    .map((path, i) => `(drop (call $get_property (i32.const ${2048 + i * 128}) (i32.const ${Buffer.byteLength(path)}) (i32.const 100) (i32.const 104)))`)
    .join("\n");
  return pluginModule(`${data}
    (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32) ${reads} (i32.const 0))`);
}

test("a property read shows its path with dots, then the value: text quoted, numbers, bools, maps and messages summarised", () => {
  const location = "xds\0cluster_metadata\0filter_metadata\0location";
  const paths = [
    "source\0address",
    "source\0port",
    "plugin_vm_id",
    location,
    location + "\0az",
    location + "\0weight",
    location + "\0canary",
    "xds\0cluster_metadata",
    "xds\0upstream_host_metadata\0",
  ];
  const { plugin, trace } = startTestPlugin(readsProperties(paths));
  const connection = new TestConnection(plugin);
  connection.clusterSelected(CLUSTER);
  trace.length = 0;
  connection.downstream(bytes("hello"), false);
  assert.deepEqual(hostCalls(trace), [
    host("proxy_get_property", [2048, 14, 100, 104], "Ok", { path: "source.address", value: '"127.0.0.1:4660"' }),
    host("proxy_get_property", [2176, 11, 100, 104], "Ok", { path: "source.port", value: "4660" }),
    host("proxy_get_property", [2304, 12, 100, 104], "Ok", { path: "plugin_vm_id", value: '""' }),
    host("proxy_get_property", [2432, 45, 100, 104], "Ok", { path: "xds.cluster_metadata.filter_metadata.location", value: "pairs{3}" }),
    host("proxy_get_property", [2560, 48, 100, 104], "Ok", { path: "xds.cluster_metadata.filter_metadata.location.az", value: '"ap-northeast-1a"' }),
    host("proxy_get_property", [2688, 52, 100, 104], "Ok", { path: "xds.cluster_metadata.filter_metadata.location.weight", value: "2.5" }),
    host("proxy_get_property", [2816, 52, 100, 104], "Ok", { path: "xds.cluster_metadata.filter_metadata.location.canary", value: "true" }),
    host("proxy_get_property", [2944, 20, 100, 104], "Ok", { path: "xds.cluster_metadata", value: "bytes{74}" }),
    host("proxy_get_property", [3072, 27, 100, 104], "NotFound", { path: "xds.upstream_host_metadata" }),
  ]);
  plugin.close();
});

test("names and values are escaped and cut after 60 characters; a value with other controls than \t \n \r is binary", () => {
  const path = "note\x1b[2J";
  const text = '"red"\\\t\n\u009b31m\u202e' + "x".repeat(60);
  const binary = "\x1b[31m";
  const wat = pluginModule(
    `(data (i32.const 1024) "${watBytes(path)}")
    (data (i32.const 1040) "${watBytes(text)}")
    (data (i32.const 1200) "${watBytes(binary)}")
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (drop (call $set_property (i32.const 1024) (i32.const 8) (i32.const 1040) (i32.const ${Buffer.byteLength(text)})))
      (drop (call $set_property (i32.const 1024) (i32.const 8) (i32.const 1200) (i32.const 5)))
      (i32.const 0))`,
    { imports: `(import "env" "proxy_set_property" (func $set_property (param i32 i32 i32 i32) (result i32)))` },
  );
  const { plugin, trace } = startTestPlugin(wat);
  trace.length = 0;
  new TestConnection(plugin).newConnection();
  const shown = String.raw`\"red\"\\\t\n\x9b31m\u{202e}` + "x".repeat(47) + "…(+13)";
  assert.deepEqual(hostCalls(trace), [
    host("proxy_set_property", [1024, 8, 1040, 76], "Ok", { path: "note\\x1b[2J", value: `"${shown}"` }),
    host("proxy_set_property", [1024, 8, 1200, 5], "Ok", { path: "note\\x1b[2J", value: "bytes{5}" }),
  ]);
  plugin.close();
});

test("a host call's trace line comes before the log line it printed; proxy_log names the level, and says when it is dropped", () => {
  const wat = pluginModule(
    `(data (i32.const 1024) "hello")
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (drop (call $get_log_level (i32.const 300)))
      (drop (call $log (i32.const 2) (i32.const 1024) (i32.const 5)))
      (drop (call $log (i32.const 1) (i32.const 1024) (i32.const 5)))
      (i32.const 0))`,
    {
      abi: "proxy_abi_version_0_2_1",
      imports: `(import "env" "proxy_get_log_level" (func $get_log_level (param i32) (result i32)))`,
    },
  );
  const output: string[] = [];
  const plugin = startWasmPlugin({
    plugin: pluginConfig(),
    wasmPath: writeWat(wat),
    concurrency: 1,
    logger: createLogger({ level: "info", componentLevels: {}, write: (line) => output.push(line), now: () => NOW }),
    stats: createStatsStore(),
    propertyNames: "current",
    trace: traceLines((line) => output.push(line)),
  });
  output.length = 0;
  new TestConnection(plugin).newConnection();
  assert.deepEqual(output, [
    "[2] → proxy_on_new_connection(2)",
    "[2]   proxy_get_log_level(300) → Ok  info",
    "[2]   proxy_log(2, 1024, 5) → Ok  info",
    `${TIMESTAMP}[2][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log tcp_connection_logger tcp_connection_logger: hello`,
    "[2]   proxy_log(1, 1024, 5) → Ok  debug, not printed",
    "[2] ← proxy_on_new_connection = 0  Continue",
  ]);
  plugin.close();
});

test("a callback's return value is named for the network callbacks: 0 Continue, anything else StopIteration", () => {
  const wat = pluginModule(`
    (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32) (i32.const 7))`);
  const { plugin, trace } = startTestPlugin(wat);
  trace.length = 0;
  new TestConnection(plugin).downstream(bytes("abc"), true);
  assert.deepEqual(trace.map(traceLine), [
    "[2] → proxy_on_downstream_data(2, 3, 1)  3 bytes, end of stream",
    "[2] ← proxy_on_downstream_data = 7  StopIteration",
  ]);
  plugin.close();
});
