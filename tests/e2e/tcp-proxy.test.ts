// tcp_proxy and the listeners with real sockets, the wasm filter replaced by a filter that
// records every call: the order Envoy drives a network filter in (docs/envoy-host.md §3), the peer
// types, clean-up after resets, backpressure, and what tcp_proxy and the cluster count when the
// upstream is refused or the cluster does not exist; and that a filter that closes the connection
// at its start keeps tcp_proxy from connecting upstream.

import assert from "node:assert/strict";
import { createServer, connect, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { loadEnvoyConfig } from "../../host/config/load.ts";
import type { EnvoyConfig } from "../../host/config/model.ts";
import { startListeners, type RunningListeners } from "../../host/net/listeners.ts";
import { createStatsStore, type StatsStore } from "../../host/stats.ts";
import type { ConnectionFilter, ConnectionInfo, FilterFactory } from "../../host/wasm/api.ts";
import { NEEDS_CURL, curl, exchange, parseHttpResponse, postRequest } from "../helpers/e2e-clients.ts";
import { ENVOY_YAML } from "../helpers/e2e-paths.ts";
import { startTestPlugin } from "../helpers/wat-filters.ts";
import { pluginModule } from "../helpers/wat.ts";

/**
 * A pass-through filter that writes down each call as one line, and before it what tcp_proxy has
 * newly put in the connection's stream info (the cluster it picked, the host it reached). The
 * stream info of each connection is kept in `infos`.
 */
function recordingFactory(events: string[][], infos: ConnectionInfo[] = []): FilterFactory {
  return {
    createFilter(info): ConnectionFilter {
      const calls: string[] = [`new ${info.listenerName} ${info.destination?.address}`];
      events.push(calls);
      infos.push(info);
      let seenCluster = false;
      let seenUpstream = false;
      const record = (call: string) => {
        if (!seenCluster && info.cluster) calls.push(`cluster ${info.cluster.name} ${JSON.stringify(info.cluster.metadata)}`);
        if (!seenUpstream && info.upstream) calls.push(`upstream ${info.upstream.address.address}`);
        seenCluster ||= info.cluster !== undefined;
        seenUpstream ||= info.upstream !== undefined;
        calls.push(call);
      };
      return {
        onNewConnection() {
          record("onNewConnection");
          return "Continue";
        },
        onData(data, endOfStream) {
          record(`onData ${data.length} ${endOfStream}`);
          return "Continue";
        },
        onWrite(data, endOfStream) {
          record(`onWrite ${data.length} ${endOfStream}`);
          return "Continue";
        },
        onDownstreamClose: (peer) => record(`onDownstreamClose ${peer}`),
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
        `cluster web_service ${LOCATION}`,
        "upstream 127.0.0.1",
        `onData ${request.length} false`,
        `onWrite ${replyLength} false`,
        "onData 0 true",
        "onWrite 0 true",
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
    assert.deepEqual(events[0].slice(4), ["onData 0 true", "onWrite 0 true", "onDownstreamClose local"]);
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

/**
 * Connect, send `text` without half-closing, and resolve with what came back once the host has
 * closed the connection. Bytes the host never read make the kernel answer its close with a
 * reset, in Envoy as here: a reset is a close too.
 */
function sendUntilClosed(port: number, text = ""): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let received = "";
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    socket.on("close", () => resolve(received));
    if (text !== "") socket.write(text);
  });
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
      assert.equal(await sendUntilClosed(portOf(listeners, "main"), "hello"), "");
      await listeners.whenIdle();
      assert.deepEqual(events[0].slice(1), [
        "onNewConnection",
        `cluster web_service ${LOCATION}`,
        "onDownstreamClose local",
      ]);
      assert.deepEqual(statsUnder(stats, "cluster."), [
        "cluster.web_service.upstream_cx_active: 0",
        "cluster.web_service.upstream_cx_connect_fail: 1",
        "cluster.web_service.upstream_cx_total: 1",
      ]);
      // tcp_proxy reads nothing while it connects: "hello" was never read, nor counted
      assert.deepEqual(statsUnder(stats, "tcp."), [
        "tcp.main_tcp.downstream_cx_no_route: 0",
        "tcp.main_tcp.downstream_cx_rx_bytes_total: 0",
        "tcp.main_tcp.downstream_cx_total: 1",
        "tcp.main_tcp.downstream_cx_tx_bytes_total: 0",
        "tcp.main_tcp.idle_timeout: 0",
      ]);
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
      assert.equal(await sendUntilClosed(portOf(listeners, "main"), "hello"), "");
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
        `cluster web_service ${LOCATION}`,
        "upstream 127.0.0.1",
        "onData 5 false",
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
    const infos: ConnectionInfo[] = [];
    const listeners = await start(loadEnvoyConfig(ENVOY_YAML), [recordingFactory(events, infos)]);
    const socket = connect({ host: "127.0.0.1", port: portOf(listeners, "main") });
    socket.on("error", () => {});
    const socketClosed = new Promise((resolve) => socket.on("close", resolve));
    await new Promise((resolve) => socket.on("connect", resolve));
    // tcp_proxy has reached the upstream: it has put the host in the connection's stream info
    while (infos[0]?.upstream === undefined) await new Promise((resolve) => setImmediate(resolve));
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
      for (let i = 0; i < connections; i++) await sendUntilClosed(portOf(listeners, "main"));
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

/**
 * Holds every new connection (StopIteration) and continues connection 2 of its VM from its root
 * context's tick (proxy_set_effective_context): on the 4th tick at which that connection exists,
 * so at least 3 tick periods after it was accepted.
 */
const HOLDS_UNTIL_TICKS = (tickMs: number) =>
  pluginModule(
    `
    (global $seen (mut i32) (i32.const 0))
    (func (export "proxy_on_configure") (param i32 i32) (result i32)
      (drop (call $set_tick_period (i32.const ${tickMs})))
      (i32.const 1))
    (func (export "proxy_on_new_connection") (param i32) (result i32) (i32.const 1))
    (func (export "proxy_on_tick") (param i32)
      (if (i32.eqz (call $set_effective_context (i32.const 2)))
        (then
          (global.set $seen (i32.add (global.get $seen) (i32.const 1)))
          (if (i32.eq (global.get $seen) (i32.const 4)) (then (drop (call $continue_stream (i32.const ${DOWNSTREAM_STREAM}))))))))`,
    { imports: `(import "env" "proxy_set_tick_period_milliseconds" (func $set_tick_period (param i32) (result i32)))` },
  );

describe("a filter that answers StopIteration to the new connection", () => {
  test("holds tcp_proxy: no upstream connection and nothing read from the client until the filter continues", async () => {
    const TICK_MS = 150;
    const { plugin, trace } = startTestPlugin(HOLDS_UNTIL_TICKS(TICK_MS));
    const stats = createStatsStore();
    const listeners = await start(loadEnvoyConfig(ENVOY_YAML), [plugin], stats);
    try {
      const started = performance.now();
      const reply = exchange(portOf(listeners, "main"), postRequest("localhost"));
      // The first tick that sees the connection held: the filter continues on the fourth, TICK_MS
      // apart, and this wait (polling more often than that, on the host's own event loop) sees
      // the first before the next one comes, however loaded the machine.
      await until("a tick of the held connection", () => {
        const opened = trace.findIndex((event) => event.kind === "enter" && event.name === "proxy_on_new_connection");
        return opened >= 0 && trace.some((event, i) => i > opened && event.kind === "enter" && event.name === "proxy_on_tick");
      });
      assert.deepEqual(
        [...statsUnder(stats, "cluster.web_service.upstream_cx_total"), ...statsUnder(stats, "tcp.main_tcp.downstream_cx_rx_bytes_total")],
        ["cluster.web_service.upstream_cx_total: 0", "tcp.main_tcp.downstream_cx_rx_bytes_total: 0"],
      );
      const response = parseHttpResponse(await within(HANG_MS, "the held connection to be answered", reply));
      assert.ok(performance.now() - started >= 3 * TICK_MS, "answered before the filter continued");
      assert.deepEqual([response.status, response.body], [200, "example body\n"]);
      assert.deepEqual(statsUnder(stats, "cluster.web_service.upstream_cx_total"), ["cluster.web_service.upstream_cx_total: 1"]);
    } finally {
      await listeners.close();
      plugin.close();
    }
  });
});

/** Closes the connection (proxy_close_stream) on its second downstream chunk, which it holds. */
const CLOSES_ON_SECOND_CHUNK = pluginModule(`
  (global $chunks (mut i32) (i32.const 0))
  (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
    (global.set $chunks (i32.add (global.get $chunks) (i32.const 1)))
    (if (result i32) (i32.eq (global.get $chunks) (i32.const 2))
      (then (drop (call $close_stream (i32.const ${DOWNSTREAM_STREAM}))) (i32.const 1))
      (else (i32.const 0))))`);

describe("a filter that closes the connection (proxy_close_stream)", () => {
  test("what was written to the client reaches it before the close (FlushWrite), then an orderly end", async () => {
    const REPLY_BYTES = 8 * 1024 * 1024;
    const big = createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.write(Buffer.alloc(REPLY_BYTES, 0x61)));
    });
    const bigPort = await listenOnFreePort(big);
    const HELD_BYTES = 1024 * 1024;
    const { plugin, trace } = startTestPlugin(CLOSES_ON_SECOND_CHUNK);
    const stats = createStatsStore();
    const listeners = await start(withCluster(loadEnvoyConfig(ENVOY_YAML), bigPort), [plugin], stats);
    try {
      const socket = connect({ host: "127.0.0.1", port: portOf(listeners, "main") });
      let received = 0;
      let reset = false;
      socket.on("error", () => (reset = true));
      const ended = new Promise<void>((resolve) => socket.on("end", () => resolve()));
      const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
      socket.write("request");
      // read a first chunk, then stop reading so that the host holds what it writes in its buffers
      await new Promise<void>((resolve) => socket.once("data", (chunk: Buffer) => ((received += chunk.length), resolve())));
      socket.pause();
      const written = () => Number(statsUnder(stats, "tcp.main_tcp.downstream_cx_tx_bytes_total")[0].split(": ")[1]);
      await until("the host to write more than the socket buffers hold", () => written() > HELD_BYTES);
      socket.write("x"); // the filter closes the connection
      await until("the filter to close", () => trace.some((event) => event.kind === "host" && event.name === "proxy_close_stream"));
      socket.on("data", (chunk: Buffer) => (received += chunk.length));
      socket.resume();
      await within(HANG_MS, "the client to read to the end", ended);
      await closed;
      await listeners.whenIdle();
      assert.equal(reset, false);
      assert.equal(received, written());
      // more than the kernel's socket buffers hold: some of it waited in the host's own
      assert.ok(written() > HELD_BYTES && written() <= REPLY_BYTES, `${written()} bytes written`);
      assert.equal(plugin.activeConnections, 0);
    } finally {
      await listeners.close();
      plugin.close();
      await new Promise((resolve) => big.close(resolve));
    }
  });
});

/** The config with listener main's tcp_proxy idle_timeout set. */
function withIdleTimeout(config: EnvoyConfig, idleTimeoutMs: number): EnvoyConfig {
  const listeners = config.listeners.map((listener) => ({
    ...listener,
    filters: listener.filters.map((filter) => (filter.kind === "tcp_proxy" ? { ...filter, idleTimeoutMs } : filter)),
  }));
  return { ...config, listeners };
}

/**
 * How long a wait may last before the test fails instead of hanging: far beyond what any of these
 * events takes even on a loaded machine, so that it never decides a result.
 */
const HANG_MS = 60_000;

/**
 * Resolves once `condition()` holds, checked every few ms: waiting for an event the test can only
 * observe. Rejects, naming `what`, after HANG_MS.
 */
async function until(what: string, condition: () => boolean): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > HANG_MS) throw new Error(`${what}: still waiting after ${HANG_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `promise`, or a rejection naming `what` when it takes longer than `ms`. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe("tcp_proxy idle_timeout", () => {
  const IDLE_MS = 200;

  test("a client that half-closes towards an upstream that never answers: closed when the idle timeout fires", async () => {
    let upstreamEnded!: Promise<void>;
    let upstreamSocket: Socket | undefined;
    const silent = createServer({ allowHalfOpen: true }, (socket) => {
      upstreamSocket = socket;
      socket.on("error", () => {});
      socket.resume();
      upstreamEnded = new Promise((resolve) => socket.on("end", () => resolve()));
    });
    const silentPort = await listenOnFreePort(silent);
    const events: string[][] = [];
    const stats = createStatsStore();
    const config = withIdleTimeout(withCluster(loadEnvoyConfig(ENVOY_YAML), silentPort), IDLE_MS);
    const listeners = await start(config, [recordingFactory(events)], stats);
    try {
      const started = performance.now();
      const socket = connect({ host: "127.0.0.1", port: portOf(listeners, "main"), allowHalfOpen: true });
      socket.on("error", () => {});
      socket.resume();
      const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
      socket.end("hello");
      await within(HANG_MS, "the half-closed connection to end", closed);
      const elapsed = performance.now() - started;
      // Not before the timeout; no upper bound, as load delays timers: the idle_timeout counter
      // below says which timer closed it.
      assert.ok(elapsed >= IDLE_MS - 5, `closed after ${elapsed} ms`);
      await within(HANG_MS, "the upstream connection to be closed", upstreamEnded);
      await listeners.whenIdle();
      assert.deepEqual(events[0].slice(4), ["onData 5 false", "onData 0 true", "onDownstreamClose local"]);
      assert.deepEqual(statsUnder(stats, "tcp.main_tcp.idle_timeout"), ["tcp.main_tcp.idle_timeout: 1"]);
      assert.deepEqual(statsUnder(stats, "cluster.web_service.upstream_cx_active"), ["cluster.web_service.upstream_cx_active: 0"]);
      assert.equal(listeners.openConnections, 0);
    } finally {
      await listeners.close();
      upstreamSocket?.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test("bytes either way keep the connection open past the idle timeout; silence then ends it", async () => {
    const echo = createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
    const echoPort = await listenOnFreePort(echo);
    const stats = createStatsStore();
    // Longer than IDLE_MS, a byte every tenth of it: a pause of the whole process (the host runs
    // in it) up to nine tenths of the timeout, as a loaded machine makes, leaves the result alone.
    const KEEPALIVE_IDLE_MS = 1000;
    const BYTES = 12;
    const listeners = await start(withIdleTimeout(withCluster(loadEnvoyConfig(ENVOY_YAML), echoPort), KEEPALIVE_IDLE_MS), [], stats);
    try {
      const socket = connect({ host: "127.0.0.1", port: portOf(listeners, "main") });
      socket.on("error", () => {});
      let echoed = "";
      socket.on("data", (chunk: Buffer) => (echoed += chunk.toString()));
      const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
      await new Promise((resolve) => socket.on("connect", resolve));
      const started = performance.now();
      // a byte every KEEPALIVE_IDLE_MS / 10, each once the last one is back, past the timeout
      for (let i = 0; i < BYTES; i++) {
        const sent = String.fromCharCode(97 + i);
        socket.write(sent);
        await until("the byte's echo", () => echoed.endsWith(sent) || socket.destroyed);
        await new Promise((resolve) => setTimeout(resolve, KEEPALIVE_IDLE_MS / 10));
      }
      assert.ok(performance.now() - started > KEEPALIVE_IDLE_MS);
      assert.equal(socket.destroyed, false);
      assert.equal(echoed, "abcdefghijkl");
      await within(HANG_MS, "the idle connection to end", closed);
      await listeners.whenIdle();
      assert.deepEqual(statsUnder(stats, "tcp.main_tcp.idle_timeout"), ["tcp.main_tcp.idle_timeout: 1"]);
    } finally {
      await listeners.close();
      await new Promise((resolve) => echo.close(resolve));
    }
  });

  test("0s: no idle timeout, the half-closed connection stays until a side closes", async () => {
    let upstreamSocket!: Socket;
    const silent = createServer({ allowHalfOpen: true }, (socket) => {
      socket.on("error", () => {});
      socket.resume();
      upstreamSocket = socket;
    });
    const silentPort = await listenOnFreePort(silent);
    const stats = createStatsStore();
    const listeners = await start(withIdleTimeout(withCluster(loadEnvoyConfig(ENVOY_YAML), silentPort), 0), [], stats);
    try {
      const socket = connect({ host: "127.0.0.1", port: portOf(listeners, "main"), allowHalfOpen: true });
      socket.on("error", () => {});
      socket.resume();
      const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
      socket.end("hello");
      await new Promise((resolve) => setTimeout(resolve, 3 * IDLE_MS));
      assert.equal(listeners.openConnections, 1);
      // the upstream answers and closes: both sides have closed, the connection ends
      upstreamSocket.end("bye");
      await within(HANG_MS, "the connection to end after both FINs", closed);
      await listeners.whenIdle();
      assert.deepEqual(statsUnder(stats, "tcp.main_tcp.idle_timeout"), ["tcp.main_tcp.idle_timeout: 0"]);
    } finally {
      await listeners.close();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
