// Envoy's own stats in admin, end to end with envoy/envoy.yaml and build/main.wasm: defined at 0
// before any traffic, exact after curl requests through :18000, in step with the plugin's metrics,
// and rendered in Prometheus as Envoy renders them.

import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { NEEDS_CURL, curl } from "../helpers/e2e-clients.ts";
import { startTestHost, statLine, type TestHost } from "../helpers/e2e.ts";

async function admin(testHost: TestHost, path: string): Promise<string> {
  return (await fetch(`http://127.0.0.1:${testHost.host.adminPort}${path}`)).text();
}

/** The value of one /stats line. */
function value(statsText: string, name: string): number {
  const line = statLine(statsText, name);
  assert.ok(line !== undefined, `${name} is not in /stats`);
  return Number(line.slice(name.length + 2));
}

/** Envoy's stats of envoy/envoy.yaml in /stats order, each with the value given by `of`. */
function envoyStats(of: (name: string) => number): string[] {
  return [
    "cluster.web_service.upstream_cx_active",
    "cluster.web_service.upstream_cx_connect_fail",
    "cluster.web_service.upstream_cx_total",
    "http.staticreply.downstream_cx_idle_timeout",
    "http.staticreply.downstream_cx_total",
    "http.staticreply.downstream_rq_1xx",
    "http.staticreply.downstream_rq_2xx",
    "http.staticreply.downstream_rq_3xx",
    "http.staticreply.downstream_rq_4xx",
    "http.staticreply.downstream_rq_5xx",
    "http.staticreply.downstream_rq_idle_timeout",
    "http.staticreply.downstream_rq_total",
    // named after the configured addresses and ports, wherever the test binds them
    "listener.0.0.0.0_18000.downstream_cx_total",
    "listener.127.0.0.1_8099.downstream_cx_total",
    "tcp.main_tcp.downstream_cx_no_route",
    "tcp.main_tcp.downstream_cx_rx_bytes_total",
    "tcp.main_tcp.downstream_cx_total",
    "tcp.main_tcp.downstream_cx_tx_bytes_total",
    "tcp.main_tcp.idle_timeout",
  ].map((name) => `${name}: ${of(name)}`);
}

describe("Envoy's stats next to the plugin's", NEEDS_CURL, () => {
  let testHost: TestHost;

  before(async () => {
    testHost = await startTestHost();
  });
  after(() => testHost.host.close());

  test("before any traffic every stat is defined, at 0, sorted by name", async () => {
    const plugin = ["active", "counter", "downstream_bytes", "upstream_bytes"].map((name) => `wasmcustom.connection_${name}: 0`);
    assert.equal(await admin(testHost, "/stats"), [...envoyStats(() => 0), ...plugin, ""].join("\n"));
  });

  test("after 3 curl requests through :18000 Envoy counts what the plugin counts", async () => {
    for (let i = 0; i < 3; i++) await curl([`localhost:${testHost.mainPort}`, "--data", "[initial body]"]);
    await testHost.host.whenIdle();
    const text = await admin(testHost, "/stats");
    assert.equal(value(text, "wasmcustom.connection_counter"), 3);
    const downstreamBytes = value(text, "wasmcustom.connection_downstream_bytes");
    const upstreamBytes = value(text, "wasmcustom.connection_upstream_bytes");
    assert.ok(downstreamBytes > 0 && upstreamBytes > 0);
    // every tcp_proxy connection is one upstream connection to listener staticreply, one request, one 200
    const expected: Record<string, number> = {
      "cluster.web_service.upstream_cx_total": 3,
      "http.staticreply.downstream_cx_total": 3,
      "http.staticreply.downstream_rq_2xx": 3,
      "http.staticreply.downstream_rq_total": 3,
      "listener.0.0.0.0_18000.downstream_cx_total": 3,
      "listener.127.0.0.1_8099.downstream_cx_total": 3,
      "tcp.main_tcp.downstream_cx_total": 3,
      // the plugin passes every byte on unchanged: what tcp_proxy read from and wrote to the client
      "tcp.main_tcp.downstream_cx_rx_bytes_total": downstreamBytes,
      "tcp.main_tcp.downstream_cx_tx_bytes_total": upstreamBytes,
    };
    assert.deepEqual(text.split("\n").slice(0, 19), envoyStats((name) => expected[name] ?? 0));
  });

  test("/stats/prometheus shows them as Envoy does: envoy_ prefix, tags as labels, one # TYPE per metric", async () => {
    const text = await admin(testHost, "/stats");
    const rx = value(text, "wasmcustom.connection_downstream_bytes");
    const tx = value(text, "wasmcustom.connection_upstream_bytes");
    const rqClass = (digit: number, count: number) =>
      `envoy_http_downstream_rq_xx{envoy_response_code_class="${digit}",envoy_http_conn_manager_prefix="staticreply"} ${count}`;
    assert.equal(
      await admin(testHost, "/stats/prometheus"),
      [
        "# TYPE connection_counter counter",
        "connection_counter{} 3",
        "# TYPE connection_downstream_bytes counter",
        `connection_downstream_bytes{} ${rx}`,
        "# TYPE connection_upstream_bytes counter",
        `connection_upstream_bytes{} ${tx}`,
        "# TYPE envoy_cluster_upstream_cx_connect_fail counter",
        'envoy_cluster_upstream_cx_connect_fail{envoy_cluster_name="web_service"} 0',
        "# TYPE envoy_cluster_upstream_cx_total counter",
        'envoy_cluster_upstream_cx_total{envoy_cluster_name="web_service"} 3',
        "# TYPE envoy_http_downstream_cx_idle_timeout counter",
        'envoy_http_downstream_cx_idle_timeout{envoy_http_conn_manager_prefix="staticreply"} 0',
        "# TYPE envoy_http_downstream_cx_total counter",
        'envoy_http_downstream_cx_total{envoy_http_conn_manager_prefix="staticreply"} 3',
        "# TYPE envoy_http_downstream_rq_idle_timeout counter",
        'envoy_http_downstream_rq_idle_timeout{envoy_http_conn_manager_prefix="staticreply"} 0',
        "# TYPE envoy_http_downstream_rq_total counter",
        'envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="staticreply"} 3',
        "# TYPE envoy_http_downstream_rq_xx counter",
        rqClass(1, 0),
        rqClass(2, 3),
        rqClass(3, 0),
        rqClass(4, 0),
        rqClass(5, 0),
        "# TYPE envoy_listener_downstream_cx_total counter",
        'envoy_listener_downstream_cx_total{envoy_listener_address="0.0.0.0_18000"} 3',
        'envoy_listener_downstream_cx_total{envoy_listener_address="127.0.0.1_8099"} 3',
        "# TYPE envoy_tcp_downstream_cx_no_route counter",
        'envoy_tcp_downstream_cx_no_route{envoy_tcp_prefix="main_tcp"} 0',
        "# TYPE envoy_tcp_downstream_cx_rx_bytes_total counter",
        `envoy_tcp_downstream_cx_rx_bytes_total{envoy_tcp_prefix="main_tcp"} ${rx}`,
        "# TYPE envoy_tcp_downstream_cx_total counter",
        'envoy_tcp_downstream_cx_total{envoy_tcp_prefix="main_tcp"} 3',
        "# TYPE envoy_tcp_downstream_cx_tx_bytes_total counter",
        `envoy_tcp_downstream_cx_tx_bytes_total{envoy_tcp_prefix="main_tcp"} ${tx}`,
        "# TYPE envoy_tcp_idle_timeout counter",
        'envoy_tcp_idle_timeout{envoy_tcp_prefix="main_tcp"} 0',
        "# TYPE connection_active gauge",
        "connection_active{} 0",
        "# TYPE envoy_cluster_upstream_cx_active gauge",
        'envoy_cluster_upstream_cx_active{envoy_cluster_name="web_service"} 0',
        "",
      ].join("\n"),
    );
  });

  test("upstream_cx_active is 1 while a connection is open, 0 once it has closed", async () => {
    const socket = connect({ host: "127.0.0.1", port: testHost.mainPort });
    socket.on("error", () => {});
    const active = "cluster.web_service.upstream_cx_active";
    while (testHost.host.stats.get(active) === 0n) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(value(await admin(testHost, "/stats"), active), 1);
    socket.end();
    await testHost.host.whenIdle();
    assert.equal(value(await admin(testHost, "/stats"), active), 0);
  });
});
