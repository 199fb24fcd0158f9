// tcp_proxy and the listeners with real sockets, the wasm filter replaced by a filter that
// records every call: the order Envoy drives a network filter in (docs/envoy-host.md §3), the peer
// types, clean-up after resets, backpressure, and what tcp_proxy and the cluster count when the
// upstream is refused or the cluster does not exist; and that a filter that closes the connection
// at its start keeps tcp_proxy from connecting upstream.

import assert from "node:assert/strict";
import { createServer, connect, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { loadEnvoyConfig } from "../../host/config/load.ts";
import type { EnvoyConfig } from "../../host/config/model.ts";
import { startListeners, type RunningListeners } from "../../host/net/listeners.ts";
import { createStatsStore } from "../../host/stats.ts";
import type { FilterCallbacks, FilterFactory, NetworkFilter, StatsStore } from "../../host/wasm/api.ts";
import { NEEDS_CURL, curl, exchange, parseHttpResponse, postRequest } from "../helpers/e2e-clients.ts";
import { ENVOY_YAML } from "../helpers/e2e-paths.ts";
import { startTestPlugin } from "../helpers/wasm-host.ts";
import { pluginModule } from "../helpers/wat.ts";

/** A pass-through filter that writes down each call as one line. */
function recordingFactory(events: string[][]): FilterFactory {
  return {
    createFilter(info, callbacks: FilterCallbacks): NetworkFilter {
      const calls: string[] = [`new ${info.listenerName} ${info.destination.address}`];
      events.push(calls);
      return {
        onNewConnection: () => calls.push("onNewConnection"),
        onClusterSelected: (cluster) => calls.push(`onClusterSelected ${cluster.name} ${JSON.stringify(cluster.metadata)}`),
        onUpstreamConnected: (host) => calls.push(`onUpstreamConnected ${host.address.address}`),
        onDownstreamData(data, endOfStream) {
          calls.push(`onDownstreamData ${data.length} ${endOfStream}`);
          callbacks.forwardDownstream(data, endOfStream);
        },
        onUpstreamData(data, endOfStream) {
          calls.push(`onUpstreamData ${data.length} ${endOfStream}`);
          callbacks.forwardUpstream(data, endOfStream);
        },
        onUpstreamClose: () => calls.push("onUpstreamClose"),
        onDownstreamClose: (peer) => calls.push(`onDownstreamClose ${peer}`),
      };
    },
  };
}

async function start(config: EnvoyConfig, factories: FilterFactory[], stats: StatsStore = createStatsStore()): Promise<RunningListeners> {
  return startListeners({
    config,
    filtersOf: (listener) => (listener.name === "main" ? factories : []),
    bindAddress: "127.0.0.1",
    portOverrides: { main: 0, staticreply: 0 },
    stats,
  });
}

/** The /stats lines whose name starts with `prefix`. */
function statsUnder(stats: StatsStore, prefix: string): string[] {
  return stats.renderText().split("\n").filter((line) => line.startsWith(prefix));
}

function portOf(listeners: RunningListeners, name: string): number {
  return listeners.bound.find((listener) => listener.name === name)!.port;
}

const LOCATION = '{"filter_metadata":{"location":{"cloud_provider":"aws","region":"ap-northeast-1","az":"ap-northeast-1a"}}}';

describe("tcp_proxy with a recording filter ahead of it", () => {
  const events: string[][] = [];
  let listeners: RunningListeners;
  let port: number;
  let replyLength: number;

  before(async () => {
    listeners = await start(loadEnvoyConfig(ENVOY_YAML), [recordingFactory(events)]);
    port = portOf(listeners, "main");
    replyLength = (await exchange(portOf(listeners, "staticreply"), postRequest("localhost"))).length;
  });
  after(() => listeners.close());

  test("a request answered before the client closes: Envoy's order, closed locally", async () => {
    events.length = 0;
    const request = postRequest(`localhost:${port}`);
    const reply = await exchange(port, request, replyLength);
    assert.equal(parseHttpResponse(reply).body, "example body\n");
    await listeners.whenIdle();
    assert.deepEqual(events, [
      [
        "new main 127.0.0.1",
        "onNewConnection",
        `onClusterSelected web_service ${LOCATION}`,
        "onUpstreamConnected 127.0.0.1",
        `onDownstreamData ${request.length} false`,
        `onUpstreamData ${replyLength} false`,
        "onDownstreamData 0 true",
        "onUpstreamData 0 true",
        "onUpstreamClose",
        "onDownstreamClose local",
      ],
    ]);
    assert.equal(listeners.openConnections, 0);
  });

  test("curl gets the direct response through the chain", NEEDS_CURL, async () => {
    const result = await curl(["-i", `localhost:${port}`, "--data", "[initial body]"]);
    assert.equal(result.code, 0);
    const response = parseHttpResponse(result.stdout);
    assert.equal(response.status, 200);
    assert.equal(response.body, "example body\n");
    await listeners.whenIdle();
  });

  test("a client that connects and closes without sending: data end, then closed once", async () => {
    events.length = 0;
    assert.equal(await exchange(port, ""), "");
    await listeners.whenIdle();
    assert.deepEqual(events[0].slice(4), ["onDownstreamData 0 true", "onUpstreamData 0 true", "onUpstreamClose", "onDownstreamClose local"]);
  });

  test("a client that resets mid-stream: closed remotely, once, nothing left open", async () => {
    events.length = 0;
    await new Promise<void>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.on("error", () => {});
      socket.on("close", () => resolve());
      socket.write("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\npartial", () => setImmediate(() => socket.resetAndDestroy()));
    });
    await listeners.whenIdle();
    const calls = events[0];
    assert.equal(calls.at(-1), "onDownstreamClose remote");
    assert.equal(calls.filter((call) => call.startsWith("onDownstreamClose")).length, 1);
    assert.equal(listeners.openConnections, 0);
  });

  test("200 connections at once all answered, all closed", async () => {
    events.length = 0;
    const request = postRequest("localhost");
    const replies = await Promise.all(Array.from({ length: 200 }, () => exchange(port, request)));
    assert.equal(replies.filter((reply) => parseHttpResponse(reply).body === "example body\n").length, 200);
    await listeners.whenIdle();
    assert.equal(events.length, 200);
    assert.equal(events.filter((calls) => calls.filter((call) => call.startsWith("onDownstreamClose")).length === 1).length, 200);
    assert.equal(listeners.openConnections, 0);
  });
});

describe("tcp_proxy alone (no filter ahead of it)", () => {
  test("curl gets the direct response", NEEDS_CURL, async () => {
    const listeners = await start(loadEnvoyConfig(ENVOY_YAML), []);
    try {
      const result = await curl(["-i", `localhost:${portOf(listeners, "main")}`, "--data", "[initial body]"]);
      assert.equal(parseHttpResponse(result.stdout).body, "example body\n");
    } finally {
      await listeners.close();
    }
  });
});

function withCluster(config: EnvoyConfig, port: number, connectTimeoutMs = 250): EnvoyConfig {
  const clusters = config.clusters.map((cluster) => ({
    ...cluster,
    connectTimeoutMs,
    endpoints: [{ address: { address: "127.0.0.1", port }, metadata: { filterMetadata: {} } }],
  }));
  return { ...config, listeners: config.listeners.filter((listener) => listener.name === "main"), clusters };
}

function listenOnFreePort(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

describe("tcp_proxy against other upstreams", () => {
  test("an upstream that refuses: the client is closed locally, the filter ended once, a connect failure counted", async () => {
    const refusing = createServer();
    const closedPort = await listenOnFreePort(refusing);
    await new Promise((resolve) => refusing.close(resolve));
    const events: string[][] = [];
    const stats = createStatsStore();
    const listeners = await start(withCluster(loadEnvoyConfig(ENVOY_YAML), closedPort), [recordingFactory(events)], stats);
    try {
      assert.equal(await exchange(portOf(listeners, "main"), "hello"), "");
      await listeners.whenIdle();
      assert.deepEqual(events[0].slice(1), [
        "onNewConnection",
        `onClusterSelected web_service ${LOCATION}`,
        "onDownstreamClose local",
      ]);
      assert.deepEqual(statsUnder(stats, "cluster."), [
        "cluster.web_service.upstream_cx_active: 0",
        "cluster.web_service.upstream_cx_connect_fail: 1",
        "cluster.web_service.upstream_cx_total: 1",
      ]);
      // (whether "hello" was read before the refusal closed the client is a race, not checked)
      assert.deepEqual(
        statsUnder(stats, "tcp.").filter((line) => !line.includes("rx_bytes")),
        ["tcp.main_tcp.downstream_cx_no_route: 0", "tcp.main_tcp.downstream_cx_total: 1", "tcp.main_tcp.downstream_cx_tx_bytes_total: 0"],
      );
    } finally {
      await listeners.close();
    }
  });

  test("a cluster that does not exist: the client is closed locally, no route counted", async () => {
    const config = loadEnvoyConfig(ENVOY_YAML);
    const events: string[][] = [];
    const stats = createStatsStore();
    const listeners = await start({ ...config, clusters: [] }, [recordingFactory(events)], stats);
    try {
      assert.equal(await exchange(portOf(listeners, "main"), "hello"), "");
      await listeners.whenIdle();
      assert.deepEqual(events[0].slice(1), ["onNewConnection", "onDownstreamClose local"]);
      assert.deepEqual(statsUnder(stats, "tcp.main_tcp.downstream_cx_"), [
        "tcp.main_tcp.downstream_cx_no_route: 1",
        "tcp.main_tcp.downstream_cx_rx_bytes_total: 0",
        "tcp.main_tcp.downstream_cx_total: 1",
        "tcp.main_tcp.downstream_cx_tx_bytes_total: 0",
      ]);
      assert.deepEqual(statsUnder(stats, "cluster."), []);
    } finally {
      await listeners.close();
    }
  });

  test("an upstream that resets: no upstream end or close reaches the filter, the client is closed locally", async () => {
    const resetting = createServer((socket) => socket.on("data", () => socket.resetAndDestroy()));
    const resettingPort = await listenOnFreePort(resetting);
    const events: string[][] = [];
    const listeners = await start(withCluster(loadEnvoyConfig(ENVOY_YAML), resettingPort), [recordingFactory(events)]);
    try {
      // the client does not half-close: only the upstream's reset can end the connection
      assert.equal(await exchange(portOf(listeners, "main"), "hello", 1), "");
      await listeners.whenIdle();
      assert.deepEqual(events[0].slice(1), [
        "onNewConnection",
        `onClusterSelected web_service ${LOCATION}`,
        "onUpstreamConnected 127.0.0.1",
        "onDownstreamData 5 false",
        "onDownstreamClose local",
      ]);
    } finally {
      await listeners.close();
      await new Promise((resolve) => resetting.close(resolve));
    }
  });

  test("8 MiB each way through an echo upstream arrive whole (backpressure both ways)", async () => {
    const echo = createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
    const echoPort = await listenOnFreePort(echo);
    const listeners = await start(withCluster(loadEnvoyConfig(ENVOY_YAML), echoPort), [recordingFactory([])]);
    try {
      const payload = Buffer.alloc(8 * 1024 * 1024, "0123456789abcdef");
      const echoed = await exchange(portOf(listeners, "main"), payload.toString("latin1"));
      assert.equal(echoed.length, payload.length);
      assert.equal(echoed === payload.toString("latin1"), true);
      await listeners.whenIdle();
    } finally {
      await listeners.close();
      await new Promise((resolve) => echo.close(resolve));
    }
  });

  test("closing the listeners resets idle open connections and ends their filters", async () => {
    const events: string[][] = [];
    const listeners = await start(loadEnvoyConfig(ENVOY_YAML), [recordingFactory(events)]);
    const socket = connect({ host: "127.0.0.1", port: portOf(listeners, "main") });
    socket.on("error", () => {});
    const socketClosed = new Promise((resolve) => socket.on("close", resolve));
    await new Promise((resolve) => socket.on("connect", resolve));
    while (events.length === 0 || !events[0].includes("onUpstreamConnected 127.0.0.1")) await new Promise((resolve) => setImmediate(resolve));
    await listeners.close();
    await socketClosed;
    assert.equal(events[0].at(-1), "onDownstreamClose local");
    assert.equal(listeners.openConnections, 0);
  });
});

/** Stream types of proxy_close_stream: Downstream is 2. */
const DOWNSTREAM_STREAM = 2;

/** Filters that close the connection in its new connection, and a module that takes it through. */
const CLOSES_ON_NEW_CONNECTION = {
  "a trap in proxy_on_context_create": `
    (func (export "proxy_on_context_create") (param i32 i32) (if (local.get 1) (then (unreachable))))`,
  "a trap in proxy_on_new_connection": `
    (func (export "proxy_on_new_connection") (param i32) (result i32) (unreachable))`,
  "proxy_close_stream(Downstream) in proxy_on_new_connection": `
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (drop (call $close_stream (i32.const ${DOWNSTREAM_STREAM})))
      (i32.const 0))`,
};

/** Connect without sending and resolve once the host has closed the connection. */
function connectUntilClosed(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("error", reject);
    socket.on("close", () => resolve());
    socket.resume();
  });
}

describe("a filter that closes the connection in its new connection: tcp_proxy never connects upstream", () => {
  let upstream: Server;
  let upstreamPort: number;
  let accepted = 0;

  before(async () => {
    upstream = createServer((socket) => {
      accepted++;
      socket.destroy();
    });
    upstreamPort = await listenOnFreePort(upstream);
  });
  after(() => new Promise((resolve) => upstream.close(resolve)));

  /** The cluster's stats after `connections` clients, each closed by the filter. */
  async function clusterStatsAfter(factory: FilterFactory, connections: number): Promise<string[]> {
    const stats = createStatsStore();
    const listeners = await start(withCluster(loadEnvoyConfig(ENVOY_YAML), upstreamPort), [factory], stats);
    try {
      for (let i = 0; i < connections; i++) await connectUntilClosed(portOf(listeners, "main"));
      await listeners.whenIdle();
      // a connect the host had started would be accepted by now
      await new Promise((resolve) => setTimeout(resolve, 50));
      return statsUnder(stats, "cluster.");
    } finally {
      await listeners.close();
    }
  }

  const NOTHING_UPSTREAM = [
    "cluster.web_service.upstream_cx_active: 0",
    "cluster.web_service.upstream_cx_connect_fail: 0",
    "cluster.web_service.upstream_cx_total: 0",
  ];

  for (const [name, callbacks] of Object.entries(CLOSES_ON_NEW_CONNECTION)) {
    test(name, async () => {
      accepted = 0;
      const { plugin } = startTestPlugin(pluginModule(callbacks));
      try {
        assert.deepEqual(await clusterStatsAfter(plugin, 3), NOTHING_UPSTREAM);
        assert.equal(accepted, 0);
        assert.equal(plugin.activeConnections, 0);
      } finally {
        plugin.close();
      }
    });
  }

  test("connections accepted while the VM is failed (FAIL_CLOSED)", async () => {
    accepted = 0;
    const { plugin } = startTestPlugin(pluginModule(CLOSES_ON_NEW_CONNECTION["a trap in proxy_on_new_connection"]));
    try {
      assert.deepEqual(await clusterStatsAfter(plugin, 1), NOTHING_UPSTREAM);
      assert.equal(plugin.diagnostics()[1]!.failed, true);
      assert.deepEqual(await clusterStatsAfter(plugin, 3), NOTHING_UPSTREAM);
      assert.equal(accepted, 0);
    } finally {
      plugin.close();
    }
  });
});
