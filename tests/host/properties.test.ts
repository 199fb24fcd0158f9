// docs/envoy-host.md §5: property paths, their encodings, names by Envoy version, and when they appear.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PropertyNames, UpstreamHostInfo } from "../../host/wasm/api.ts";
import { pluginModule } from "../helpers/wat.ts";
import { TestConnection } from "../../host/testing/index.ts";
import { bytes, hostCalls, startTestPlugin } from "../helpers/wat-filters.ts";

const CLUSTER = {
  name: "web_service",
  metadata: { filter_metadata: { location: { cloud_provider: "aws", az: "ap-northeast-1a" } } },
};
const UPSTREAM = {
  address: { address: "127.0.0.1", port: 8055 },
  metadata: { filter_metadata: { location: { az: "ap-northeast-1a", zone: null } } },
};

/** A path (UTF-8 text, or bytes as they are) as a WAT data string. */
function watBytes(path: string | Uint8Array): string {
  return [...Buffer.from(path)].map((byte) => "\\" + byte.toString(16).padStart(2, "0")).join("");
}

// Values reach the test through log lines, so test ports are chosen with bytes below 0x80.
/** A module whose root context (at configure) and connection callbacks read every path and log each value found. */
function propertyModule(paths: Array<string | Uint8Array>): string {
  const data = paths.map((path, i) => `(data (i32.const ${2048 + i * 128}) "${watBytes(path)}")`).join("\n");
  const reads = paths
    .map((path, i) => `(call $get (i32.const ${2048 + i * 128}) (i32.const ${Buffer.from(path).length}))`)
    .join("\n");
  return pluginModule(`${data}
    (func $get (param $path i32) (param $size i32)
      (if (i32.eqz (call $get_property (local.get $path) (local.get $size) (i32.const 100) (i32.const 104)))
        (then (drop (call $log (i32.const 2) (i32.load (i32.const 100)) (i32.load (i32.const 104)))))))
    (func $read_all ${reads})
    (func (export "proxy_on_configure") (param i32 i32) (result i32) (call $read_all) (i32.const 1))
    (func (export "proxy_on_new_connection") (param i32) (result i32) (call $read_all) (i32.const 0))
    (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32) (call $read_all) (i32.const 0))`);
}

type Reading = Record<string, string>;

/**
 * Each path's value as hex, or the WasmResult name of the miss, for the root context's
 * configure, the new connection, and the first downstream data (after tcp_proxy picked the
 * cluster and connected upstream).
 */
function readProperties(
  paths: Array<string | Uint8Array>,
  names: PropertyNames = "current",
  upstream: UpstreamHostInfo = UPSTREAM,
): Record<"root" | "connection" | "data", Reading> {
  const run = startTestPlugin(propertyModule(paths), { propertyNames: names });
  const readings = (from: number, logFrom: number): Reading => {
    const results = hostCalls(run.trace.slice(from)).filter((call) => call.name === "proxy_get_property");
    const values = run.lines.slice(logFrom).map((line) => line.slice(line.indexOf(": ", line.indexOf("wasm log")) + 2));
    const reading: Reading = {};
    paths.forEach((path, i) => {
      const result = results[i].result;
      reading[typeof path === "string" ? path : Buffer.from(path).toString("hex")] =
        result === "Ok" ? Buffer.from(values.shift()!).toString("hex") : result;
    });
    return reading;
  };
  const root = readings(0, 0);
  const connection = new TestConnection(run.plugin);
  let trace = run.trace.length;
  let logs = run.lines.length;
  connection.newConnection();
  const atNewConnection = readings(trace, logs);
  connection.clusterSelected(CLUSTER);
  connection.upstreamConnected(upstream);
  trace = run.trace.length;
  logs = run.lines.length;
  connection.downstream(bytes("GET / HTTP/1.1\r\n\r\n"), false);
  const atData = readings(trace, logs);
  run.plugin.close();
  return { root, connection: atNewConnection, data: atData };
}

const hex = (text: string) => Buffer.from(text).toString("hex");
const u64 = (value: number) => Buffer.from(new BigUint64Array([BigInt(value)]).buffer).toString("hex");

test("source and destination: `ip:port` strings and 8-byte little-endian ports, from the start", () => {
  const paths = ["source\0address", "source\0port", "destination\0address", "destination\0port\0"];
  const { connection, root } = readProperties(paths);
  assert.deepEqual(connection, {
    "source\0address": hex("127.0.0.1:4660"),
    "source\0port": u64(4660),
    "destination\0address": hex("127.0.0.1:18000"),
    "destination\0port\0": u64(18000),
  });
  assert.deepEqual(Object.values(root), ["NotFound", "NotFound", "NotFound", "NotFound"]);
});

test("an IPv6 address is `[ip]:port`, as Envoy prints it", () => {
  const { data } = readProperties(["upstream\0address"], "current", { ...UPSTREAM, address: { address: "::1", port: 8055 } });
  assert.deepEqual(data, { "upstream\0address": hex("[::1]:8055") });
});

test("connection.id and connection_id: the same 8-byte id", () => {
  const { connection } = readProperties(["connection\0id", "connection_id"]);
  assert.deepEqual(connection, { "connection\0id": u64(0), connection_id: u64(0) });
});

test("plugin_name, plugin_root_id, plugin_vm_id are readable from the root context", () => {
  const { root } = readProperties(["plugin_name", "plugin_root_id", "plugin_vm_id"]);
  assert.deepEqual(root, {
    plugin_name: hex("tcp_connection_logger"),
    plugin_root_id: hex("tcp_connection_logger"),
    plugin_vm_id: "",
  });
});

test("cluster and upstream properties are NotFound at new connection, present by the first data", () => {
  const paths = [
    "xds\0cluster_name",
    "xds\0cluster_metadata\0filter_metadata\0location\0az",
    "upstream\0address",
    "upstream\0port",
    "xds\0upstream_host_metadata\0filter_metadata\0location\0az",
  ];
  const { connection, data } = readProperties(paths);
  assert.deepEqual(Object.values(connection), ["NotFound", "NotFound", "NotFound", "NotFound", "NotFound"]);
  assert.deepEqual(data, {
    "xds\0cluster_name": hex("web_service"),
    "xds\0cluster_metadata\0filter_metadata\0location\0az": hex("ap-northeast-1a"),
    "upstream\0address": hex("127.0.0.1:8055"),
    "upstream\0port": u64(8055),
    "xds\0upstream_host_metadata\0filter_metadata\0location\0az": hex("ap-northeast-1a"),
  });
});

test("a Struct is a pairs blob (58 bytes for two entries); one level down, the raw string", () => {
  const location = "xds\0cluster_metadata\0filter_metadata\0location";
  const { data } = readProperties([location, location + "\0az", location + "\0missing", "xds\0nothing\0at\0all"]);
  const pairs =
    "02000000" + "0e000000" + "03000000" + "02000000" + "0f000000" +
    hex("cloud_provider\0aws\0az\0ap-northeast-1a\0");
  assert.equal(data[location].length / 2, 58);
  assert.equal(data[location], pairs);
  assert.equal(data[location + "\0az"], hex("ap-northeast-1a"));
  assert.equal(data[location + "\0missing"], "NotFound");
  assert.equal(data["xds\0nothing\0at\0all"], "NotFound");
});

test("Struct values: a number is an 8-byte double, a bool 1 byte, a list pairs with empty values", () => {
  const location = "xds\0upstream_host_metadata\0filter_metadata\0location";
  const upstream = {
    ...UPSTREAM,
    metadata: { filter_metadata: { location: { weight: 2.5, primary: true, zones: ["a", "bc"] } } },
  };
  const { data } = readProperties([location + "\0weight", location + "\0primary", location + "\0zones"], "current", upstream);
  assert.deepEqual(data, {
    [location + "\0weight"]: "0000000000000440",
    [location + "\0primary"]: "01",
    [location + "\0zones"]: "02000000" + "01000000" + "00000000" + "02000000" + "00000000" + hex("a\0\0bc\0\0"),
  });
});

test("nested maps are pairs inside pairs", () => {
  const location = "xds\0upstream_host_metadata\0filter_metadata\0location";
  const upstream = { ...UPSTREAM, metadata: { filter_metadata: { location: { rack: { row: "7" } } } } };
  const { data } = readProperties([location], "current", upstream);
  const rack = "01000000" + "03000000" + "01000000" + hex("row\0" + "7\0");
  // one entry: key "rack" (4 bytes), value the 18-byte pairs blob of {row: "7"}
  assert.equal(data[location], "01000000" + "04000000" + "12000000" + hex("rack\0") + rack + "00");
});

test("the Metadata message itself is protobuf binary", () => {
  const { data } = readProperties(["xds\0cluster_metadata"]);
  // field 1 (filter_metadata map entry) { key "location", value Struct { fields ... } }
  assert.ok(data["xds\0cluster_metadata"].startsWith("0a3e0a08" + hex("location") + "1232"));
});

test("a null inside a Struct is SerializationFailure", () => {
  const { data } = readProperties(["xds\0upstream_host_metadata\0filter_metadata\0location"]);
  assert.deepEqual(Object.values(data), ["SerializationFailure"]);
});

test("current names (Envoy ≥ 1.33): xds.* answers, the old top-level names are NotFound", () => {
  const { data } = readProperties([
    "cluster_name",
    "cluster_metadata",
    "upstream_host_metadata",
    "node",
    "listener_metadata",
    "xds\0cluster_name",
  ]);
  assert.deepEqual(Object.values(data), ["NotFound", "NotFound", "NotFound", "NotFound", "NotFound", hex("web_service")]);
});

test("legacy names (Envoy ≤ 1.24): the top-level names answer, xds.* is NotFound", () => {
  const { data } = readProperties(
    ["cluster_name", "cluster_metadata\0filter_metadata\0location\0az", "upstream_host_metadata\0filter_metadata\0location\0az", "xds\0cluster_name"],
    "legacy",
  );
  assert.deepEqual(Object.values(data), [hex("web_service"), hex("ap-northeast-1a"), hex("ap-northeast-1a"), "NotFound"]);
});

test("a path is bytes: split on NUL, each segment compared with a key's UTF-8 bytes, never decoded with replacement", () => {
  // ED A0 80 (a surrogate's encoding) is not UTF-8: a replacing decoder would read it as three
  // U+FFFD and find the key "\uFFFD\uFFFD\uFFFD"; Envoy compares bytes and finds nothing.
  const keys = { "\uFFFD\uFFFD\uFFFD": "three replacement characters", "é": "e acute" };
  const upstream = { ...UPSTREAM, metadata: { filter_metadata: { location: keys } } };
  const location = Buffer.from("xds\0upstream_host_metadata\0filter_metadata\0location\0");
  const path = (segment: number[] | string) => Buffer.concat([location, Buffer.from(segment as string)]);
  const { data } = readProperties(
    [path([0xed, 0xa0, 0x80]), path("\uFFFD\uFFFD\uFFFD"), path([0xe9]), path("é"), Buffer.from([0x78, 0x64, 0xff])],
    "current",
    upstream,
  );
  assert.deepEqual(Object.values(data), [
    "NotFound",
    hex("three replacement characters"),
    "NotFound", // é in Latin-1, not the key's UTF-8
    hex("e acute"),
    "NotFound", // a first segment that is not UTF-8
  ]);
});

test("a property a connection sets is kept by its path's bytes: paths that differ in bytes that are not UTF-8 are two", () => {
  const run = startTestPlugin(
    pluginModule(`
      (data (i32.const 1024) "p\\ff")
      (data (i32.const 1032) "p\\fe")
      (data (i32.const 1040) "first")
      (data (i32.const 1048) "second")
      (func (export "proxy_on_new_connection") (param i32) (result i32)
        (drop (call $set_property (i32.const 1024) (i32.const 2) (i32.const 1040) (i32.const 5)))
        (drop (call $set_property (i32.const 1032) (i32.const 2) (i32.const 1048) (i32.const 6)))
        (drop (call $get_property (i32.const 1024) (i32.const 2) (i32.const 100) (i32.const 104)))
        (drop (call $log (i32.const 2) (i32.load (i32.const 100)) (i32.load (i32.const 104))))
        (i32.const 0))`,
      { imports: `(import "env" "proxy_set_property" (func $set_property (param i32 i32 i32 i32) (result i32)))` },
    ),
  );
  new TestConnection(run.plugin).newConnection();
  assert.match(run.lines.at(-1)!, /: first$/);
  run.plugin.close();
});
