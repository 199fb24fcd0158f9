// docs/envoy-host.md §5, "Addresses read from a socket", with real sockets: an IPv4 client of a
// listener bound to an IPv6 address that is not v6only (`--bind ::ffff:127.0.0.1`) is the IPv4
// address 127.0.0.1 to a filter, as Envoy's accept makes it, so tcp_guard's deny_sources refuses it
// and its PROXY line is TCP4; the proxy_protocol listener filter leaves the socket's addresses so
// converted where no header gives others, and keeps a header's `::ffff:a.b.c.d` as IPv6 (§18);
// upstream.address is the configured endpoint in inet_ntop's form.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, createServer, type Server } from "node:net";
import { after, describe, test } from "node:test";
import { loadEnvoyConfig } from "../../host/config/load.ts";
import type { EnvoyConfig, ProxyProtocolListenerFilter } from "../../host/config/model.ts";
import { startListeners, type RunningListeners } from "../../host/net/listeners.ts";
import { createStatsStore } from "../../host/stats.ts";
import type { ConnectionInfo, FilterFactory, UpstreamHostInfo } from "../../host/wasm/api.ts";
import { NEEDS_CURL, curl, parseHttpResponse } from "../helpers/e2e-clients.ts";
import { TCP_GUARD_YAML } from "../helpers/e2e-paths.ts";
import { adminStats, startTestHost, tcpGuardConfig, wasmMessages } from "../helpers/e2e.ts";

const MAPPED_LOOPBACK = "::ffff:127.0.0.1";
const PREFIX = "wasm log tcp_guard tcp_guard tcp_guard: ";

/** Why a listener cannot be bound on `address` here (e.g. no IPv6 on this machine), or false. */
async function cannotBind(address: string): Promise<string | false> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", (error: NodeJS.ErrnoException) => resolve(`skipped: cannot listen on ${address} here (${error.code})`));
    server.listen(0, address, () => server.close(() => resolve(false)));
  });
}

const DUAL_STACK = { skip: await cannotBind(MAPPED_LOOPBACK) };
const IPV6_LOOPBACK = { skip: await cannotBind("::1") };
const IPV6_ANY = { skip: await cannotBind("::") };

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "dual-stack-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

const guardConfig = (name: string, configuration: string) => tcpGuardConfig(scratch, name, configuration);

describe("tcp_guard on a listener bound to ::ffff:127.0.0.1, reached over IPv4", DUAL_STACK, () => {
  test("deny_sources 127.0.0.0/8 refuses the client: its source is 127.0.0.1, not ::ffff:127.0.0.1", async () => {
    const configPath = guardConfig("deny", '{"deny_sources": ["127.0.0.0/8"], "proxy_protocol": true}');
    const testHost = await startTestHost({ configPath, bindAddress: MAPPED_LOOPBACK });
    try {
      const socket = connect({ host: "127.0.0.1", port: testHost.mainPort });
      let clientPort: number | undefined;
      socket.on("connect", () => (clientPort = socket.localPort));
      socket.on("error", () => {});
      await new Promise((resolve) => socket.on("close", resolve));
      await testHost.host.whenIdle();
      assert.deepEqual(await adminStats(testHost, "wasmcustom.tcp_guard_denied", "cluster.web_service.upstream_cx_total"), [
        "wasmcustom.tcp_guard_denied: 1",
        "cluster.web_service.upstream_cx_total: 0",
      ]);
      const refusals = wasmMessages(testHost.logs).filter((line) => line.includes("refused"));
      assert.deepEqual(refusals, [`${PREFIX}connection 2: refused: source 127.0.0.1:${clientPort} is in deny_sources 127.0.0.0/8`]);
    } finally {
      await testHost.host.close();
    }
  });

  test("the PROXY line is TCP4 with both addresses dotted, and the upstream answers 200", NEEDS_CURL, async () => {
    const testHost = await startTestHost({ configPath: TCP_GUARD_YAML, bindAddress: MAPPED_LOOPBACK, wasmLogLevel: "debug" });
    try {
      const result = await curl(["-i", `http://127.0.0.1:${testHost.mainPort}/`, "--data", "[initial body]"]);
      const response = parseHttpResponse(result.stdout);
      assert.deepEqual([result.code, response.status, response.body], [0, 200, "example body\n"]);
      await testHost.host.whenIdle();
      const lines = wasmMessages(testHost.logs).filter((line) => line.includes("prepended"));
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0], new RegExp(`^${PREFIX}connection 2: prepended PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ ${testHost.mainPort}\\\\r\\\\n$`));
    } finally {
      await testHost.host.close();
    }
  });
});

const PROXY_PROTOCOL: ProxyProtocolListenerFilter = {
  kind: "proxy_protocol",
  filterName: "envoy.filters.listener.proxy_protocol",
  allowRequestsWithoutProxyProtocol: true,
  disallowedVersions: [],
  statPrefix: "",
};

/**
 * A pass-through filter that keeps the addresses each connection was given, and the upstream host
 * tcp_proxy put in its stream info by the time its data came.
 */
function addressRecorder(seen: ConnectionInfo[], upstreams: UpstreamHostInfo[]): FilterFactory {
  return {
    createFilter(info) {
      seen.push({ ...info });
      let upstreamSeen = false;
      return {
        onNewConnection: () => "Continue",
        onData() {
          if (!upstreamSeen && info.upstream) upstreams.push(info.upstream);
          upstreamSeen ||= info.upstream !== undefined;
          return "Continue";
        },
        onWrite: () => "Continue",
        onDownstreamClose() {},
      };
    },
  };
}

/** examples/tcp_guard/envoy.yaml's listener main without its wasm filter, tcp_proxy to `upstream`. */
function mainOnly(upstream: { address: string; port: number }, withProxyProtocol: boolean): EnvoyConfig {
  const shipped = loadEnvoyConfig(TCP_GUARD_YAML);
  return {
    ...shipped,
    listeners: shipped.listeners
      .filter((listener) => listener.name === "main")
      .map((listener) => ({
        ...listener,
        filters: listener.filters.filter((filter) => filter.kind !== "wasm"),
        listenerFilters: withProxyProtocol ? [PROXY_PROTOCOL] : [],
      })),
    clusters: shipped.clusters.map((cluster) => ({ ...cluster, endpoints: [{ address: upstream, metadata: { filterMetadata: {} } }] })),
  };
}

function listenOn(server: Server, address: string): Promise<number> {
  return new Promise((resolve) => server.listen(0, address, () => resolve((server.address() as { port: number }).port)));
}

/** Send `text` to 127.0.0.1:`port` and resolve with what the echo upstream sent back, once closed. */
function echoOver(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => socket.end(text));
    let received = "";
    socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => resolve(received));
  });
}

async function withMain(
  config: EnvoyConfig,
  bindAddress: string,
  run: (port: number, seen: ConnectionInfo[], upstreams: UpstreamHostInfo[]) => Promise<void>,
): Promise<void> {
  const seen: ConnectionInfo[] = [];
  const upstreams: UpstreamHostInfo[] = [];
  const listeners: RunningListeners = await startListeners({
    config,
    filtersOf: () => [addressRecorder(seen, upstreams)],
    bindAddress,
    portOverrides: { main: 0 },
    stats: createStatsStore(),
  });
  try {
    await run(listeners.bound[0].port, seen, upstreams);
    await listeners.whenIdle();
  } finally {
    await listeners.close();
  }
}

describe("addresses a filter reads on a listener bound to ::ffff:127.0.0.1", DUAL_STACK, () => {
  const echo = createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
  let echoPort = 0;
  after(() => new Promise((resolve) => echo.close(resolve)));

  const endpoint = async () => ({ address: "127.0.0.1", port: echoPort || (echoPort = await listenOn(echo, "127.0.0.1")) });

  test("without listener filters: source and destination are 127.0.0.1", async () => {
    await withMain(mainOnly(await endpoint(), false), MAPPED_LOOPBACK, async (port, seen) => {
      assert.equal(await echoOver(port, "hello"), "hello");
      assert.deepEqual(
        seen.map((info) => [info.source?.address, info.destination?.address, info.destination?.port]),
        [["127.0.0.1", "127.0.0.1", port]],
      );
    });
  });

  test("bound to :: (all addresses, IPv4 ones too): an IPv4 client is 127.0.0.1 as well", IPV6_ANY, async () => {
    await withMain(mainOnly(await endpoint(), false), "::", async (port, seen) => {
      assert.equal(await echoOver(port, "hello"), "hello");
      assert.deepEqual(
        seen.map((info) => [info.source?.address, info.destination?.address]),
        [["127.0.0.1", "127.0.0.1"]],
      );
    });
  });

  test("proxy_protocol: PROXY UNKNOWN and no header keep the socket's addresses, so IPv4", async () => {
    await withMain(mainOnly(await endpoint(), true), MAPPED_LOOPBACK, async (port, seen) => {
      assert.equal(await echoOver(port, "PROXY UNKNOWN\r\nhello"), "hello");
      assert.equal(await echoOver(port, "hello"), "hello");
      assert.deepEqual(
        seen.map((info) => [info.source?.address, info.destination?.address]),
        [
          ["127.0.0.1", "127.0.0.1"],
          ["127.0.0.1", "127.0.0.1"],
        ],
      );
    });
  });

  test("proxy_protocol: a TCP6 header's ::ffff:a.b.c.d stays IPv6 (docs/envoy-host.md §18)", async () => {
    await withMain(mainOnly(await endpoint(), true), MAPPED_LOOPBACK, async (port, seen) => {
      assert.equal(await echoOver(port, "PROXY TCP6 ::FFFF:10.0.0.1 ::ffff:a00:2 40000 80\r\nhello"), "hello");
      assert.deepEqual(seen, [{ source: { address: "::ffff:10.0.0.1", port: 40000 }, destination: { address: "::ffff:10.0.0.2", port: 80 }, listenerName: "main" }]);
    });
  });
});

describe("upstream.address: the configured endpoint as Envoy writes it", IPV6_LOOPBACK, () => {
  test("an endpoint written 0:0:0:0:0:0:0:1 is ::1 to the filter", async () => {
    const echo = createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
    const echoPort = await listenOn(echo, "::1");
    try {
      await withMain(mainOnly({ address: "0:0:0:0:0:0:0:1", port: echoPort }, false), "127.0.0.1", async (port, _seen, upstreams) => {
        assert.equal(await echoOver(port, "hello"), "hello");
        assert.deepEqual(
          upstreams.map((host) => host.address),
          [{ address: "::1", port: echoPort }],
        );
      });
    } finally {
      await new Promise((resolve) => echo.close(resolve));
    }
  });
});
