// The release build/main.wasm in the local host, driven in Envoy's order (docs/envoy-host.md §3):
// exact log lines, metrics, both property namings, hostile payloads, memory. This suite fails on
// a build whose connection overrides are skipped: the connection lines would be missing.

import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createLogger, type Logger } from "../../host/log.ts";
import type { LogLevelName } from "../../host/loggers.ts";
import { PluginStartError, startWasmPlugin, traceLines, type ClusterInfo, type ConnectionInfo, type FilterCallbacks, type PropertyNames, type TraceEvent, type UpstreamHostInfo, type WasmPlugin } from "../../host/wasm/api.ts";
import { createStatsStore } from "../../host/stats.ts";
import { assertEnvoyModule } from "../helpers/envoy-module.ts";
import { pluginConfig } from "../helpers/wasm-host.ts";

const WASM_PATH = new URL("../../build/main.wasm", import.meta.url).pathname;
const README = new URL("../../README.md", import.meta.url).pathname;

const LOCATION = { cloud_provider: "aws", region: "ap-northeast-1", az: "ap-northeast-1a" };
const WEB_SERVICE: ClusterInfo = { name: "web_service", metadata: { filter_metadata: { location: LOCATION } } };
const UPSTREAM_HOST: UpstreamHostInfo = { address: { address: "127.0.0.1", port: 8099 }, metadata: {} };
const CLIENT: ConnectionInfo = {
  source: { address: "127.0.0.1", port: 51234 },
  destination: { address: "127.0.0.1", port: 18000 },
  listenerName: "listener_tcp",
};
const REQUEST = "POST / HTTP/1.1\r\nHost: localhost:18000\r\nContent-Length: 14\r\n\r\n[initial body]";
const REPLY = "HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nexample body\n";

const LEVELS: LogLevelName[] = ["trace", "debug", "info", "warn", "error", "critical", "off"];

/** Keeps `<level> <message>` of every wasm log line it prints, without Envoy's `wasm log ...: ` prefix. */
class CapturingLogger implements Logger {
  lines: string[] = [];
  /** the lowest level printed; may change between callbacks, as with Envoy's admin /logging */
  level: LogLevelName = "trace";
  enabled(_component: string, level: LogLevelName): boolean {
    return level !== "off" && LEVELS.indexOf(level) >= LEVELS.indexOf(this.level);
  }
  log(component: string, level: LogLevelName, _source: string, bytesOrText: string | Uint8Array): void {
    const message = typeof bytesOrText === "string" ? bytesOrText : Buffer.from(bytesOrText).toString();
    if (component !== "wasm" || !message.startsWith("wasm log") || !this.enabled(component, level)) return;
    this.lines.push(`${level} ${message.slice(message.indexOf(": ") + 2)}`);
  }
}

const forwarding: FilterCallbacks = {
  forwardDownstream() {},
  forwardUpstream() {},
  closeDownstream() {
    throw new Error("the plugin must never close the connection");
  },
};

interface Harness {
  plugin: WasmPlugin;
  logger: CapturingLogger;
  stats: ReturnType<typeof createStatsStore>;
  /** the host's trace (every call in and out of the module) when started `traced`, else empty */
  trace: TraceEvent[];
}

interface StartOptions {
  configuration?: string;
  propertyNames?: PropertyNames;
  level?: LogLevelName;
  traced?: boolean;
}

function start(options: StartOptions = {}): Harness {
  const logger = new CapturingLogger();
  logger.level = options.level ?? "trace";
  const stats = createStatsStore();
  const trace: TraceEvent[] = [];
  const plugin = startWasmPlugin({
    plugin: pluginConfig({ configuration: options.configuration ?? "" }),
    wasmPath: WASM_PATH,
    concurrency: 1,
    logger,
    stats,
    propertyNames: options.propertyNames ?? "current",
    trace: options.traced ? (event) => trace.push(event) : undefined,
  });
  return { plugin, logger, stats, trace };
}

/** How many host calls named `name` the trace has: what the module asked, printed or not. */
function hostCalls(trace: TraceEvent[], name: string): number {
  return trace.filter((event) => event.kind === "host" && event.name === name).length;
}

/** One curl-like connection: request, reply, both ends of stream, upstream then downstream close. */
function runConnection(plugin: WasmPlugin, request: Uint8Array, reply: Uint8Array, cluster = WEB_SERVICE): void {
  const filter = plugin.createFilter(CLIENT, forwarding);
  filter.onNewConnection();
  filter.onClusterSelected(cluster);
  filter.onUpstreamConnected(UPSTREAM_HOST);
  filter.onDownstreamData(request, false);
  filter.onUpstreamData(reply, false);
  filter.onDownstreamData(new Uint8Array(0), true);
  filter.onUpstreamData(new Uint8Array(0), true);
  filter.onUpstreamClose();
  filter.onDownstreamClose("remote");
}

function connectionLines(logger: CapturingLogger, id: number): string[] {
  return logger.lines
    .filter((line) => line.includes(`connection ${id}: `))
    .map((line) => line.replace(/, \d+ ms$/, ", <ms> ms"));
}

const bytes = (text: string) => Buffer.from(text, "latin1");

/** The id of the connection whose `new connection` line is the n-th logged. */
function connectionId(logger: CapturingLogger, n = 0): number {
  return logger.lines.filter((l) => l.includes("new connection")).map((l) => Number(/connection (\d+):/.exec(l)![1]))[n];
}

/** What runConnection(REQUEST, REPLY) logs at trace, in order. */
function oneConnectionLines(id: number): string[] {
  return [
    `info connection ${id}: new connection from 127.0.0.1:51234`,
    `info connection ${id}: downstream data: 76 bytes: POST / HTTP/1.1\\r\\nHost: localhost:18000\\r\\nContent-Length: 14\\r\\n\\r\\n[initial body]`,
    `info connection ${id}: upstream address: 127.0.0.1:8099`,
    `info connection ${id}: upstream cluster metadata location.az: ap-northeast-1a`,
    `info connection ${id}: upstream cluster metadata location.cloud_provider: aws`,
    `info connection ${id}: upstream cluster metadata location.region: ap-northeast-1`,
    // xds.cluster_metadata answered just before: the host knows xds.* names, the legacy one is not read.
    `debug connection ${id}: no upstream host metadata "location" (xds.upstream_host_metadata: NotFound)`,
    `info connection ${id}: upstream data: 52 bytes: HTTP/1.1 200 OK\\r\\ncontent-length: 13\\r\\n\\r\\nexample body\\n`,
    `debug connection ${id}: downstream end of stream`,
    `debug connection ${id}: upstream end of stream`,
    `info connection ${id}: upstream connection closed (peer: unknown)`,
    `info connection ${id}: downstream connection closed (peer: remote)`,
    `info connection ${id}: done: 76 bytes from downstream, 52 bytes from upstream, <ms> ms`,
  ];
}

/** The counters after `connections` runs of runConnection(REQUEST, REPLY). */
function assertCounted(stats: Harness["stats"], connections: bigint): void {
  assert.equal(stats.get("wasmcustom.connection_counter"), connections);
  assert.equal(stats.get("wasmcustom.connection_active"), 0n);
  assert.equal(stats.get("wasmcustom.connection_downstream_bytes"), 76n * connections);
  assert.equal(stats.get("wasmcustom.connection_upstream_bytes"), 52n * connections);
}

describe("release build/main.wasm", () => {
  it("exports the ABI 0.2.1 marker alone, imports only what Envoy provides, never env.abort, and stays within 40 KiB", () => {
    assertEnvoyModule(WASM_PATH);
  });

  it("logs one connection in Envoy's order and counts it once (xds.* property names)", () => {
    const { plugin, logger, stats } = start();
    assert.ok(logger.lines.includes("info configured: metadata_namespace=location payload_preview_bytes=256"));
    runConnection(plugin, bytes(REQUEST), bytes(REPLY));
    const id = connectionId(logger);
    assert.deepEqual(connectionLines(logger, id), oneConnectionLines(id));
    assertCounted(stats, 1n);
    plugin.close();
  });

  it("at info, logs the same info lines and asks for no debug line", () => {
    const { plugin, logger, stats, trace } = start({ level: "info", traced: true });
    trace.length = 0;
    runConnection(plugin, bytes(REQUEST), bytes(REPLY));
    const id = connectionId(logger);
    const infoLines = oneConnectionLines(id).filter((l) => !l.startsWith("debug"));
    assert.deepEqual(connectionLines(logger, id), infoLines);
    assert.equal(hostCalls(trace, "proxy_log"), infoLines.length);
    assertCounted(stats, 1n);
    plugin.close();
  });

  it("at warn, builds no info line and reads only the cluster's name, and its metadata once; the counters stay exact", () => {
    const { plugin, logger, stats, trace } = start({ level: "warn", traced: true });
    trace.length = 0;
    runConnection(plugin, bytes(REQUEST), bytes(REPLY));
    runConnection(plugin, bytes(REQUEST), bytes(REPLY), { name: "bare", metadata: {} });
    // Only the second connection's cluster lacks the namespace: its warning is the only line.
    assert.equal(logger.lines.length, 1);
    assert.match(logger.lines[0], /^warn connection \d+: no upstream cluster metadata "location" for cluster "bare" \(xds\.cluster_metadata: NotFound\)$/);
    assert.equal(hostCalls(trace, "proxy_log"), 1);
    // Per connection the cluster's name, and the metadata of a cluster not seen before (the
    // legacy names are not tried: the host answered an xds.* name); no address, no preview.
    assert.equal(hostCalls(trace, "proxy_get_property"), 2 + 2);
    assert.equal(hostCalls(trace, "proxy_get_buffer_bytes"), 0);
    trace.length = 0;
    runConnection(plugin, bytes(REQUEST), bytes(REPLY));
    assert.equal(hostCalls(trace, "proxy_get_property"), 1);
    assertCounted(stats, 3n);
    plugin.close();
  });

  it("with logging off, makes no call for logging at all; the counters stay exact", () => {
    const { plugin, logger, stats, trace } = start({ level: "off", traced: true });
    trace.length = 0;
    runConnection(plugin, bytes(REQUEST), bytes(REPLY));
    assert.deepEqual(logger.lines, []);
    for (const name of ["proxy_log", "proxy_get_property", "proxy_get_buffer_bytes"]) assert.equal(hostCalls(trace, name), 0, name);
    assertCounted(stats, 1n);
    plugin.close();
  });

  it("honours a level change between two callbacks of one connection", () => {
    const { plugin, logger, stats } = start({ level: "off" });
    const filter = plugin.createFilter(CLIENT, forwarding);
    filter.onNewConnection();
    filter.onClusterSelected(WEB_SERVICE);
    filter.onUpstreamConnected(UPSTREAM_HOST);
    filter.onDownstreamData(bytes(REQUEST), false);
    logger.level = "info";
    filter.onUpstreamData(bytes(REPLY), false);
    logger.level = "warn";
    filter.onDownstreamData(new Uint8Array(0), true);
    filter.onUpstreamData(new Uint8Array(0), true);
    filter.onUpstreamClose();
    logger.level = "info";
    filter.onDownstreamClose("remote");
    const id = Number(/connection (\d+):/.exec(logger.lines[0])![1]);
    const lines = oneConnectionLines(id);
    // The connection opened while logging was off: its start was not read, so no duration.
    const done = lines[12].replace(", <ms> ms", "");
    assert.deepEqual(connectionLines(logger, id), [...lines.slice(2, 6), lines[7], lines[11], done]);
    assertCounted(stats, 1n);
    plugin.close();
  });

  it("reads cluster metadata through the legacy names of Envoy <= 1.24", () => {
    const { plugin, logger } = start({ propertyNames: "legacy" });
    runConnection(plugin, bytes("x"), bytes("y"));
    const metadata = logger.lines.filter((l) => l.includes(" metadata "));
    assert.deepEqual(metadata.map((l) => l.replace(/connection \d+: /, "")), [
      "info upstream cluster metadata location.az: ap-northeast-1a",
      "info upstream cluster metadata location.cloud_provider: aws",
      "info upstream cluster metadata location.region: ap-northeast-1",
      // The legacy name answered for the cluster: only legacy names are read from then on.
      "debug no upstream host metadata \"location\" (upstream_host_metadata: NotFound)",
    ]);
    plugin.close();
  });

  it("warns, and carries on, when the cluster has no metadata in the namespace", () => {
    const { plugin, logger, stats } = start();
    runConnection(plugin, bytes("x"), bytes("y"), { name: "bare", metadata: {} });
    assert.ok(logger.lines.some((l) => /^warn connection \d+: no upstream cluster metadata "location" for cluster "bare" \(xds\.cluster_metadata: NotFound, cluster_metadata: NotFound\)$/.test(l)));
    assert.ok(logger.lines.some((l) => /^info connection \d+: upstream data: 1 bytes: y$/.test(l)));
    assert.equal(stats.get("wasmcustom.connection_counter"), 1n);
    plugin.close();
  });

  it("escapes binary and hostile payloads: no raw control character reaches a log line", () => {
    const { plugin, logger } = start();
    runConnection(plugin, bytes("\x1b[2J\x1b]0;owned\x07\r\nhi\xff\xfe!\\"), bytes("\x00\x7f\x9b"));
    assert.ok(logger.lines.some((l) => l.endsWith("downstream data: 22 bytes: \\x1b[2J\\x1b]0;owned\\x07\\r\\nhi\\xff\\xfe!\\\\")));
    assert.ok(logger.lines.some((l) => l.endsWith("upstream data: 3 bytes: \\x00\\x7f\\x9b")));
    for (const line of logger.lines) assert.doesNotMatch(line, /[\x00-\x1f\x7f-\uffff]/);
    plugin.close();
  });

  it("copies only the preview budget of a 1 MiB chunk into wasm memory", () => {
    const { plugin, logger } = start({ configuration: "{\"payload_preview_bytes\": 16}" });
    const worker = () => plugin.diagnostics().find((d) => d.role.startsWith("worker"))!;
    const filter = plugin.createFilter(CLIENT, forwarding);
    filter.onNewConnection();
    const copiedBefore = worker().bytesCopiedIn;
    filter.onDownstreamData(new Uint8Array(1024 * 1024).fill(0x41), false);
    const copied = worker().bytesCopiedIn - copiedBefore;
    assert.ok(copied <= 16 + 64, `copied ${copied} bytes`);
    assert.ok(logger.lines.some((l) => l.endsWith(`downstream data: 1048576 bytes: ${"A".repeat(16)} ... (+1048560 bytes)`)));
    filter.onDownstreamClose("remote");
    plugin.close();
  });

  it("keeps every line exact when connections interleave and one line is far longer than the rest", () => {
    // Lines are built in one buffer that grows to the longest line: nothing of one line may leak
    // into the next, whichever connection logs it.
    const { plugin, logger } = start({ configuration: "{\"payload_preview_bytes\": 4096}" });
    const [a, b] = [plugin.createFilter(CLIENT, forwarding), plugin.createFilter(CLIENT, forwarding)];
    for (const filter of [a, b]) {
      filter.onNewConnection();
      filter.onClusterSelected(WEB_SERVICE);
      filter.onUpstreamConnected(UPSTREAM_HOST);
    }
    a.onDownstreamData(new Uint8Array(5000), false); // 4096 NULs shown: a line of 16 KiB
    b.onDownstreamData(bytes("hi"), false);
    b.onUpstreamData(bytes("ok"), false);
    a.onUpstreamData(bytes("\r\n"), false);
    b.onDownstreamClose("local");
    a.onDownstreamClose("remote");
    const [idA, idB] = logger.lines.filter((l) => l.includes("new connection")).map((l) => Number(/connection (\d+):/.exec(l)![1]));
    const metadata = (id: number) => [
      `info connection ${id}: upstream address: 127.0.0.1:8099`,
      `info connection ${id}: upstream cluster metadata location.az: ap-northeast-1a`,
      `info connection ${id}: upstream cluster metadata location.cloud_provider: aws`,
      `info connection ${id}: upstream cluster metadata location.region: ap-northeast-1`,
      `debug connection ${id}: no upstream host metadata "location" (xds.upstream_host_metadata: NotFound)`,
    ];
    assert.deepEqual(connectionLines(logger, idA), [
      `info connection ${idA}: new connection from 127.0.0.1:51234`,
      `info connection ${idA}: downstream data: 5000 bytes: ${"\\x00".repeat(4096)} ... (+904 bytes)`,
      ...metadata(idA),
      `info connection ${idA}: upstream data: 2 bytes: \\r\\n`,
      `info connection ${idA}: downstream connection closed (peer: remote)`,
      `info connection ${idA}: done: 5000 bytes from downstream, 2 bytes from upstream, <ms> ms`,
    ]);
    assert.deepEqual(connectionLines(logger, idB), [
      `info connection ${idB}: new connection from 127.0.0.1:51234`,
      `info connection ${idB}: downstream data: 2 bytes: hi`,
      ...metadata(idB),
      `info connection ${idB}: upstream data: 2 bytes: ok`,
      `info connection ${idB}: downstream connection closed (peer: local)`,
      `info connection ${idB}: done: 2 bytes from downstream, 2 bytes from upstream, <ms> ms`,
    ]);
    plugin.close();
  });

  it("prints the README's lifecycle trace of one curl request, byte for byte", (t) => {
    // README "The lifecycle of one connection": the trace block, the plugin's log lines cut to `(log) ` and 100 characters
    const readme = readFileSync(README, "utf8");
    const block = readme.slice(readme.indexOf("\n", readme.indexOf("$ make local ARGS=--trace")) + 1);
    const expected = block.slice(0, block.indexOf("\n```")).split("\n");
    // what differs from one real run to the next: the client's port, and how long the connection took
    const clientPort = Number(/source\.address = "127\.0\.0\.1:(\d+)"/.exec(block)![1]);
    const durationMs = Number(/, (\d+) ms\n/.exec(block)![1]);
    let now = Date.UTC(2026, 10, 25, 15, 53, 6);
    t.mock.method(Date, "now", () => now);
    const output: string[] = [];
    const logger = createLogger({ level: "info", componentLevels: {}, write: (line) => output.push(line) });
    const plugin = startWasmPlugin({
      plugin: pluginConfig({ configuration: '{"metadata_namespace": "location", "payload_preview_bytes": 256}' }),
      wasmPath: WASM_PATH,
      concurrency: 1,
      logger,
      stats: createStatsStore(),
      propertyNames: "current",
      trace: traceLines((line) => output.push(line)),
    });
    output.length = 0;
    const curl: ConnectionInfo = { ...CLIENT, source: { address: "127.0.0.1", port: clientPort }, listenerName: "main" };
    const filter = plugin.createFilter(curl, forwarding);
    filter.onNewConnection();
    filter.onClusterSelected(WEB_SERVICE);
    filter.onUpstreamConnected(UPSTREAM_HOST);
    filter.onDownstreamData(bytes("POST / HTTP/1.1\r\nHost: localhost:18000\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nContent-Length: 14\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n[initial body]"), false);
    filter.onUpstreamData(bytes("HTTP/1.1 200 OK\r\ncontent-length: 13\r\ncontent-type: text/plain\r\ndate: Wed, 25 Nov 2026 15:53:06 GMT\r\nserver: envoy\r\n\r\nexample body\n"), false);
    filter.onDownstreamData(new Uint8Array(0), true);
    filter.onUpstreamData(new Uint8Array(0), true);
    filter.onUpstreamClose();
    now += durationMs;
    filter.onDownstreamClose("local");
    const shown = output.map((line) => {
      const log = /\]\[wasm\] \[[^\]]+\] wasm log [^:]+: (.*)$/.exec(line);
      return log === null ? line : `    (log) ${log[1].slice(0, 100)}`;
    });
    assert.deepEqual(shown, expected);
    plugin.close();
  });

  it("refuses a bad configuration: PluginStartError, and an error line naming the key", () => {
    const logger = new CapturingLogger();
    assert.throws(
      () => startWasmPlugin({ plugin: pluginConfig({ configuration: "{\"foo\": 1}" }), wasmPath: WASM_PATH, concurrency: 1, logger, stats: createStatsStore(), propertyNames: "current" }),
      PluginStartError,
    );
    assert.ok(logger.lines.includes("error invalid plugin configuration: unknown key \"foo\""));
  });

  it("keeps memory flat over 100,000 connection lifecycles", () => {
    const { plugin, stats } = start();
    const memory = () => plugin.diagnostics().reduce((sum, d) => sum + d.memoryBytes, 0);
    const request = bytes(REQUEST);
    const reply = bytes(REPLY);
    for (let i = 0; i < 1000; i++) runConnection(plugin, request, reply);
    const after1000 = memory();
    for (let i = 0; i < 99000; i++) runConnection(plugin, request, reply);
    assert.equal(memory(), after1000);
    assert.equal(stats.get("wasmcustom.connection_counter"), 100000n);
    assert.equal(plugin.activeConnections, 0);
    plugin.close();
  });

  it("holds 10,000 open connections, then frees them all", () => {
    const { plugin, stats } = start();
    const memory = () => plugin.diagnostics().reduce((sum, d) => sum + d.memoryBytes, 0);
    const openAndClose = () => {
      const filters = Array.from({ length: 10000 }, () => {
        const filter = plugin.createFilter(CLIENT, forwarding);
        filter.onNewConnection();
        filter.onClusterSelected(WEB_SERVICE);
        filter.onUpstreamConnected(UPSTREAM_HOST);
        filter.onDownstreamData(bytes("ping"), false);
        return filter;
      });
      assert.equal(plugin.activeConnections, 10000);
      assert.equal(stats.get("wasmcustom.connection_active"), 10000n);
      for (const filter of filters) filter.onDownstreamClose("local");
    };
    openAndClose();
    const afterFirstRound = memory();
    openAndClose();
    assert.equal(memory(), afterFirstRound);
    assert.equal(plugin.activeConnections, 0);
    assert.equal(stats.get("wasmcustom.connection_active"), 0n);
    assert.equal(stats.get("wasmcustom.connection_counter"), 20000n);
    plugin.close();
  });
});
