// docs/envoy-host.md §6: metric ids per VM, one shared stat per name, and the admin output.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { createStatsStore } from "../../host/stats.ts";
import { pluginModule } from "../helpers/wat.ts";
import { host, hostCalls, startTestPlugin, TestConnection, traced } from "../helpers/wasm-host.ts";

/** Configure defines the metrics (ids stored from 200); each new connection updates them. */
const METRICS = pluginModule(`
  (data (i32.const 1024) "connection_counter")
  (data (i32.const 1056) "active.connections")
  (data (i32.const 1088) "payload_size")
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $define_metric (i32.const 0) (i32.const 1024) (i32.const 18) (i32.const 200)))
    (drop (call $define_metric (i32.const 0) (i32.const 1024) (i32.const 18) (i32.const 204)))
    (drop (call $define_metric (i32.const 1) (i32.const 1056) (i32.const 18) (i32.const 208)))
    (drop (call $define_metric (i32.const 2) (i32.const 1088) (i32.const 12) (i32.const 212)))
    (drop (call $define_metric (i32.const 3) (i32.const 1088) (i32.const 12) (i32.const 216)))
    ;; the ids, shown in the trace as the words of proxy_log
    (drop (call $log (i32.const 0) (i32.load (i32.const 200)) (i32.load (i32.const 204))))
    (drop (call $log (i32.const 0) (i32.load (i32.const 208)) (i32.load (i32.const 212))))
    (i32.const 1))
  (func (export "proxy_on_new_connection") (param i32) (result i32)
    (drop (call $increment_metric (i32.load (i32.const 200)) (i64.const 1)))
    (drop (call $increment_metric (i32.load (i32.const 200)) (i64.const 0)))
    (drop (call $increment_metric (i32.load (i32.const 204)) (i64.const -1)))
    (drop (call $increment_metric (i32.load (i32.const 208)) (i64.const 3)))
    (drop (call $increment_metric (i32.load (i32.const 208)) (i64.const -1)))
    (drop (call $record_metric (i32.load (i32.const 212)) (i64.const 85)))
    (drop (call $increment_metric (i32.const 44) (i64.const 1)))
    (drop (call $get_metric (i32.load (i32.const 200)) (i32.const 300)))
    (i32.const 0))`);

test("ids are per VM, count by 4 with the type in the low bits; a second define is a new id", () => {
  const { plugin, trace } = startTestPlugin(METRICS);
  const configure = traced(trace).slice(0, 9);
  assert.deepEqual(configure.slice(1, 6), [
    host("proxy_define_metric", [0, 1024, 18, 200], "Ok", { type: "counter", name: "connection_counter", id: 4 }),
    host("proxy_define_metric", [0, 1024, 18, 204], "Ok", { type: "counter", name: "connection_counter", id: 8 }),
    host("proxy_define_metric", [1, 1056, 18, 208], "Ok", { type: "gauge", name: "active.connections", id: 5 }),
    host("proxy_define_metric", [2, 1088, 12, 212], "Ok", { type: "histogram", name: "payload_size", id: 6 }),
    host("proxy_define_metric", [3, 1088, 12, 216], "BadArgument", { type: "type 3", name: "payload_size" }),
  ]);
  assert.deepEqual(configure.slice(6, 8), [
    host("proxy_log", [0, 4, 8], "Ok", { level: "trace", printed: false }),
    host("proxy_log", [0, 5, 6], "Ok", { level: "trace", printed: false }),
  ]);
  // every VM (canary, main, worker) starts its ids afresh
  const firstId = host("proxy_log", [0, 4, 8], "Ok", { level: "trace", printed: false });
  assert.equal(hostCalls(trace).filter((call) => isDeepStrictEqual(call, firstId)).length, 3);
  plugin.close();
});

test("counter increments must be positive; gauges go both ways; unknown ids are NotFound", () => {
  const { plugin, trace } = startTestPlugin(METRICS);
  trace.length = 0;
  new TestConnection(plugin).filter.onNewConnection();
  assert.deepEqual(
    hostCalls(trace),
    [
      host("proxy_increment_metric", [4, 1n], "Ok", { metric: "connection_counter", delta: 1n }),
      host("proxy_increment_metric", [4, 0n], "BadArgument", { metric: "connection_counter", delta: 0n }),
      host("proxy_increment_metric", [8, -1n], "BadArgument", { metric: "connection_counter", delta: -1n }),
      host("proxy_increment_metric", [5, 3n], "Ok", { metric: "active.connections", delta: 3n }),
      host("proxy_increment_metric", [5, -1n], "Ok", { metric: "active.connections", delta: -1n }),
      host("proxy_record_metric", [6, 85n], "Ok", { metric: "payload_size", type: "histogram", value: 85n }),
      host("proxy_increment_metric", [44, 1n], "NotFound"),
      host("proxy_get_metric", [4, 300], "Ok", { metric: "connection_counter", value: 1n }),
    ],
  );
  plugin.close();
});

test("the stats are shared: connections on two workers add up in one Envoy stat", () => {
  const { plugin, stats } = startTestPlugin(METRICS, { concurrency: 2 });
  for (let i = 0; i < 3; i++) new TestConnection(plugin).filter.onNewConnection();
  assert.equal(stats.get("wasmcustom.connection_counter"), 3n);
  assert.equal(
    stats.renderText(),
    "wasmcustom.active.connections: 6\nwasmcustom.connection_counter: 3\nwasmcustom.payload_size: count=3 sum=255\n",
  );
  assert.equal(
    stats.renderPrometheus(),
    [
      "# TYPE connection_counter counter",
      "connection_counter{} 3",
      "# TYPE active_connections gauge",
      "active_connections{} 6",
      "# TYPE payload_size histogram",
      'payload_size_bucket{le="+Inf"} 3',
      "payload_size_sum{} 255",
      "payload_size_count{} 3",
      "",
    ].join("\n"),
  );
  plugin.close();
});

test("record_metric on a counter adds; both ids of a name count in the one stat; Prometheus names replace other characters with _", () => {
  const wat = pluginModule(`
    (data (i32.const 1024) "tcp-conn/total:x")
    (func (export "proxy_on_configure") (param i32 i32) (result i32)
      (drop (call $define_metric (i32.const 0) (i32.const 1024) (i32.const 16) (i32.const 200)))
      (drop (call $define_metric (i32.const 0) (i32.const 1024) (i32.const 16) (i32.const 204)))
      (i32.const 1))
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (drop (call $increment_metric (i32.load (i32.const 200)) (i64.const 2)))
      (drop (call $record_metric (i32.load (i32.const 204)) (i64.const 5)))
      (drop (call $get_metric (i32.load (i32.const 200)) (i32.const 300)))
      (i32.const 0))`);
  const { plugin, stats, trace } = startTestPlugin(wat);
  trace.length = 0;
  new TestConnection(plugin).filter.onNewConnection();
  assert.deepEqual(hostCalls(trace), [
    host("proxy_increment_metric", [4, 2n], "Ok", { metric: "tcp-conn/total:x", delta: 2n }),
    host("proxy_record_metric", [8, 5n], "Ok", { metric: "tcp-conn/total:x", type: "counter", value: 5n }),
    host("proxy_get_metric", [4, 300], "Ok", { metric: "tcp-conn/total:x", value: 7n }),
  ]);
  assert.equal(stats.renderText(), "wasmcustom.tcp-conn/total:x: 7\n");
  assert.equal(stats.renderPrometheus(), "# TYPE tcp_conn_total_x counter\ntcp_conn_total_x{} 7\n");
  plugin.close();
});

test("Envoy's own stats keep the envoy_ prefix and their tags as labels", () => {
  const stats = createStatsStore();
  stats.define("tcp.ingress_tcp.downstream_cx_total", "counter");
  stats.define("wasmcustom.connection_counter", "counter");
  stats.define("server.live", "gauge");
  stats.add("tcp.ingress_tcp.downstream_cx_total", 2n);
  stats.set("server.live", 1n);
  assert.equal(
    stats.renderText(),
    "server.live: 1\ntcp.ingress_tcp.downstream_cx_total: 2\nwasmcustom.connection_counter: 0\n",
  );
  assert.equal(
    stats.renderPrometheus(),
    [
      "# TYPE connection_counter counter",
      "connection_counter{} 0",
      "# TYPE envoy_tcp_downstream_cx_total counter",
      'envoy_tcp_downstream_cx_total{envoy_tcp_prefix="ingress_tcp"} 2',
      "# TYPE envoy_server_live gauge",
      "envoy_server_live{} 1",
      "",
    ].join("\n"),
  );
});

test("Envoy's tag extraction: listener address, tcp prefix to the last dot, response code class first", () => {
  const stats = createStatsStore();
  for (const name of [
    "listener.0.0.0.0_18000.downstream_cx_total",
    "listener.[__]_18000.downstream_cx_total",
    "listener.admin.downstream_cx_total",
    "tcp.edge.tcp.downstream_cx_total",
    "cluster.web_service.upstream_cx_total",
    "http.ingress.downstream_rq_2xx",
    "http.ingress.downstream_rq_5xx",
    'cluster.a"b.upstream_cx_total',
  ]) {
    stats.define(name, "counter");
  }
  stats.define("cluster.web_service.upstream_cx_active", "gauge");
  assert.equal(
    stats.renderPrometheus(),
    [
      "# TYPE envoy_cluster_upstream_cx_total counter",
      'envoy_cluster_upstream_cx_total{envoy_cluster_name="a\\"b"} 0',
      'envoy_cluster_upstream_cx_total{envoy_cluster_name="web_service"} 0',
      "# TYPE envoy_http_downstream_rq_xx counter",
      'envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress"} 0',
      'envoy_http_downstream_rq_xx{envoy_response_code_class="5",envoy_http_conn_manager_prefix="ingress"} 0',
      // Envoy's admin listener is named `admin`, not an address: no tag
      "# TYPE envoy_listener_admin_downstream_cx_total counter",
      "envoy_listener_admin_downstream_cx_total{} 0",
      "# TYPE envoy_listener_downstream_cx_total counter",
      'envoy_listener_downstream_cx_total{envoy_listener_address="0.0.0.0_18000"} 0',
      'envoy_listener_downstream_cx_total{envoy_listener_address="[__]_18000"} 0',
      "# TYPE envoy_tcp_downstream_cx_total counter",
      'envoy_tcp_downstream_cx_total{envoy_tcp_prefix="edge.tcp"} 0',
      "# TYPE envoy_cluster_upstream_cx_active gauge",
      'envoy_cluster_upstream_cx_active{envoy_cluster_name="web_service"} 0',
      "",
    ].join("\n"),
  );
});
