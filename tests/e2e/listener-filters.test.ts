// docs/envoy-host.md §18: the proxy_protocol listener filter with real sockets: the header taken
// off and its addresses given to the connection, a missing or malformed header refused before a
// connection exists, a client that leaves, listener_filters_timeout and
// continue_on_listener_filters_timeout, allow_requests_without_proxy_protocol.

import assert from "node:assert/strict";
import { connect, createServer, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { loadEnvoyConfig } from "../../host/config/load.ts";
import type { EnvoyConfig, ListenerConfig, ProxyProtocolListenerFilter } from "../../host/config/model.ts";
import { startListeners, type RunningListeners } from "../../host/net/listeners.ts";
import { createStatsStore, type StatsStore } from "../../host/stats.ts";
import type { ConnectionInfo, FilterFactory } from "../../host/wasm/api.ts";
import { exchange, parseHttpResponse } from "../helpers/e2e-clients.ts";
import { TCP_GUARD_YAML } from "../helpers/e2e-paths.ts";

const PROXY_PROTOCOL: ProxyProtocolListenerFilter = {
  kind: "proxy_protocol",
  filterName: "envoy.filters.listener.proxy_protocol",
  allowRequestsWithoutProxyProtocol: false,
  disallowedVersions: [],
  statPrefix: "",
};

/** A pass-through filter that keeps the addresses each connection was given. */
function addressRecorder(seen: ConnectionInfo[]): FilterFactory {
  return {
    createFilter(info) {
      seen.push({ ...info });
      return {
        onNewConnection: () => "Continue",
        onData: () => "Continue",
        onWrite: () => "Continue",
        onDownstreamClose() {},
      };
    },
  };
}

/**
 * examples/tcp_guard/envoy.yaml without its wasm filter: listener main (tcp_proxy to an echo server) with
 * the proxy_protocol listener filter as `main` says, and staticreply (HTTP) as shipped.
 */
function config(echoPort: number, main: Partial<ListenerConfig> = {}): EnvoyConfig {
  const shipped = loadEnvoyConfig(TCP_GUARD_YAML);
  return {
    ...shipped,
    listeners: shipped.listeners.map((listener) =>
      listener.name === "main"
        ? { ...listener, filters: listener.filters.filter((filter) => filter.kind !== "wasm"), listenerFilters: [PROXY_PROTOCOL], ...main }
        : listener,
    ),
    clusters: shipped.clusters.map((cluster) => ({ ...cluster, endpoints: [{ address: { address: "127.0.0.1", port: echoPort }, metadata: { filterMetadata: {} } }] })),
  };
}

function listenOnFreePort(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

/** Connect, write `chunks` a few ms apart, and resolve with what came back, and how, once closed. */
function talk(port: number, ...chunks: string[]): Promise<{ received: string; reset: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host: "127.0.0.1", port });
    let received = "";
    let reset = false;
    socket.on("error", (error: NodeJS.ErrnoException) => (reset = error.code === "ECONNRESET"));
    socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    socket.on("close", () => resolve({ received, reset, ms: performance.now() - started }));
    socket.on("connect", async () => {
      for (const chunk of chunks) {
        socket.write(chunk);
        await new Promise((wait) => setTimeout(wait, 20));
      }
      // an echo answers and the test ends the exchange
      if (chunks.length > 0 && !chunks[0].startsWith("GET")) setTimeout(() => socket.end(), 100);
    });
  });
}

function statsOf(stats: StatsStore, ...prefixes: string[]): string[] {
  return stats.renderText().split("\n").filter((line) => prefixes.some((prefix) => line.startsWith(prefix)));
}

describe("the proxy_protocol listener filter", () => {
  let echo: Server;
  let echoPort: number;

  before(async () => {
    echo = createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
    echoPort = await listenOnFreePort(echo);
  });
  after(() => new Promise((resolve) => echo.close(resolve)));

  async function withListeners(main: Partial<ListenerConfig>, run: (listeners: RunningListeners, stats: StatsStore, seen: ConnectionInfo[]) => Promise<void>) {
    const stats = createStatsStore();
    const seen: ConnectionInfo[] = [];
    const listeners = await startListeners({
      config: config(echoPort, main),
      filtersOf: (listener) => (listener.name === "main" ? [addressRecorder(seen)] : []),
      bindAddress: "127.0.0.1",
      portOverrides: { main: 0, staticreply: 0 },
      stats,
    });
    try {
      await run(listeners, stats, seen);
    } finally {
      await listeners.close();
    }
  }
  const portOf = (listeners: RunningListeners, name: string) => listeners.bound.find((listener) => listener.name === name)!.port;

  test("takes the header off, in pieces too, and gives the connection its addresses; the rest arrives intact", async () => {
    await withListeners({}, async (listeners, stats, seen) => {
      const { received, reset } = await talk(portOf(listeners, "main"), "PROXY TCP4 192.0.2.10 198.51.", "100.1 51234 80\r\nhel", "lo");
      assert.deepEqual([received, reset], ["hello", false]);
      assert.deepEqual(seen, [{ source: { address: "192.0.2.10", port: 51234 }, destination: { address: "198.51.100.1", port: 80 }, listenerName: "main" }]);
      assert.deepEqual(statsOf(stats, "proxy_proto.versions.v1.found", "listener.0.0.0.0_18000.downstream_cx_total"), [
        "listener.0.0.0.0_18000.downstream_cx_total: 1",
        "proxy_proto.versions.v1.found: 1",
      ]);
    });
  });

  test("the HTTP listener of examples/tcp_guard/envoy.yaml answers after a header, and refuses a request without one", async () => {
    await withListeners({}, async (listeners, stats) => {
      const port = portOf(listeners, "staticreply");
      const response = parseHttpResponse(await exchange(port, "PROXY TCP6 2001:db8::1 ::1 40000 8099\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      assert.deepEqual([response.status, response.body], [200, "example body\n"]);
      const refused = await talk(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.deepEqual([refused.received, refused.reset], ["", true]);
      assert.deepEqual(
        statsOf(stats, "proxy_proto.not_found_disallowed", "proxy_proto.versions.v1.found", "downstream_cx_proxy_proto_error", "listener.127.0.0.1_8099.downstream_cx_total", "http.staticreply.downstream_cx_total"),
        [
          "downstream_cx_proxy_proto_error: 1",
          "http.staticreply.downstream_cx_total: 1",
          "listener.127.0.0.1_8099.downstream_cx_total: 1",
          "proxy_proto.not_found_disallowed: 1",
          "proxy_proto.versions.v1.found: 1",
        ],
      );
    });
  });

  test("a client that leaves before sending: counted as a remote close, no connection", async () => {
    await withListeners({}, async (listeners, stats, seen) => {
      await new Promise<void>((resolve) => {
        const socket = connect({ host: "127.0.0.1", port: portOf(listeners, "main") }, () => socket.end());
        socket.on("close", () => resolve());
      });
      while (statsOf(stats, "listener.0.0.0.0_18000.downstream_listener_filter_remote_close: 1").length === 0) await new Promise((wait) => setTimeout(wait, 5));
      assert.deepEqual(seen, []);
      assert.deepEqual(statsOf(stats, "listener.0.0.0.0_18000.downstream_cx_total"), ["listener.0.0.0.0_18000.downstream_cx_total: 0"]);
    });
  });

  test("listener_filters_timeout: a header that never ends is closed when it fires, and counted", async () => {
    await withListeners({ listenerFiltersTimeoutMs: 200 }, async (listeners, stats, seen) => {
      const { received, reset, ms } = await talk(portOf(listeners, "main"), "PROXY TCP4 192.0.2.10");
      assert.deepEqual([received, reset, seen], ["", true, []]);
      // Not before the timeout (the counter says it fired); no upper bound: load delays timers.
      assert.ok(ms >= 195, `closed after ${ms} ms`);
      assert.deepEqual(statsOf(stats, "listener.0.0.0.0_18000.downstream_pre_cx_timeout"), ["listener.0.0.0.0_18000.downstream_pre_cx_timeout: 1"]);
    });
  });

  test("continue_on_listener_filters_timeout: the connection is made anyway, bytes and addresses as they came", async () => {
    await withListeners({ listenerFiltersTimeoutMs: 200, continueOnListenerFiltersTimeout: true }, async (listeners, _stats, seen) => {
      const socket = connect({ host: "127.0.0.1", port: portOf(listeners, "main") });
      let received = "";
      socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
      socket.write("PRO");
      while (received !== "PRO") await new Promise((wait) => setTimeout(wait, 10));
      assert.equal(seen[0].source?.port, socket.localPort);
      socket.destroy();
    });
  });

  test("allow_requests_without_proxy_protocol: bytes that are no header pass untouched", async () => {
    const allowing = { listenerFilters: [{ ...PROXY_PROTOCOL, allowRequestsWithoutProxyProtocol: true }] };
    await withListeners(allowing, async (listeners, stats) => {
      const { received } = await talk(portOf(listeners, "main"), "hello");
      assert.equal(received, "hello");
      assert.deepEqual(statsOf(stats, "proxy_proto.not_found_allowed"), ["proxy_proto.not_found_allowed: 1"]);
    });
  });
});
