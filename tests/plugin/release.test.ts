// The release build/main.wasm in the local host, driven in Envoy's order (docs/envoy-host.md §3):
// exact log lines, metrics, both property namings, hostile payloads, memory. This suite fails on
// a build whose connection overrides are skipped: the connection lines would be missing.

import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "../../host/log.ts";
import type { LogLevelName } from "../../host/loggers.ts";
import { createStatsStore } from "../../host/stats.ts";
import { FilterStartError, startFilter, TestConnection, traceLines, type ClusterInfo, type FilterUnderTest, type TraceEvent, type UpstreamHostInfo } from "../../host/testing/index.ts";
import { startWasmPlugin, type PropertyNames } from "../../host/wasm/api.ts";
import { assertEnvoyModule } from "../helpers/envoy-module.ts";
import { pluginConfig } from "../helpers/wat-filters.ts";

const WASM_PATH = new URL("../../build/main.wasm", import.meta.url).pathname;
const LOCAL_HOST_DOC = new URL("../../docs/local-host.md", import.meta.url).pathname;

const LOCATION = { cloud_provider: "aws", region: "ap-northeast-1", az: "ap-northeast-1a" };
const WEB_SERVICE: ClusterInfo = { name: "web_service", metadata: { filter_metadata: { location: LOCATION } } };
const UPSTREAM_HOST: UpstreamHostInfo = { address: { address: "127.0.0.1", port: 8099 }, metadata: {} };
const CLIENT = {
  source: { address: "127.0.0.1", port: 51234 },
  destination: { address: "127.0.0.1", port: 18000 },
  listenerName: "listener_tcp",
};
const REQUEST = "POST / HTTP/1.1\r\nHost: localhost:18000\r\nContent-Length: 14\r\n\r\n[initial body]";
const REPLY = "HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nexample body\n";

interface StartOptions {
  configuration?: string;
  propertyNames?: PropertyNames;
  /** the wasm logger's level, trace by default; filter.setLogLevel changes it between callbacks */
  level?: LogLevelName;
  traced?: boolean;
}

function start(options: StartOptions = {}): FilterUnderTest {
  return startFilter({
    wasm: WASM_PATH,
    name: "tcp_connection_logger",
    rootId: "tcp_connection_logger",
    configuration: options.configuration ?? "",
    propertyNames: options.propertyNames ?? "current",
    logLevel: options.level ?? "trace",
    trace: options.traced ?? false,
  });
}

/** How many host calls named `name` the trace has: what the module asked, printed or not. */
function hostCalls(trace: TraceEvent[], name: string): number {
  return trace.filter((event) => event.kind === "host" && event.name === name).length;
}

/** A connection from CLIENT that the logger has been told of: the plugin never closes one. */
function open(logger: FilterUnderTest): TestConnection {
  const connection = logger.accept(CLIENT);
  connection.newConnection();
  connection.clusterSelected(WEB_SERVICE);
  connection.upstreamConnected(UPSTREAM_HOST);
  return connection;
}

/** One curl-like connection: request, reply, both ends of stream, upstream then downstream close. */
function runConnection(logger: FilterUnderTest, request: Uint8Array, reply: Uint8Array, cluster = WEB_SERVICE): TestConnection {
  const connection = logger.accept(CLIENT);
  connection.newConnection();
  connection.clusterSelected(cluster);
  connection.upstreamConnected(UPSTREAM_HOST);
  connection.downstream(request);
  connection.upstream(reply);
  connection.downstreamEnd();
  connection.upstreamEnd();
  connection.upstreamClose();
  connection.close("remote");
  assert.equal(connection.closed, false, "the plugin must never close the connection");
  return connection;
}

/** The plugin's lines of connection `id`, `<level> <message>`, the duration of `done` as `<ms>`. */
function connectionLines(logger: FilterUnderTest, id: number | undefined): string[] {
  return logger
    .messages()
    .filter((line) => line.includes(`connection ${id}: `))
    .map((line) => line.replace(/, \d+ ms$/, ", <ms> ms"));
}

const bytes = (text: string) => Buffer.from(text, "latin1");

/** What runConnection(REQUEST, REPLY) logs at trace, in order. */
function oneConnectionLines(id: number | undefined): string[] {
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
function assertCounted(logger: FilterUnderTest, connections: bigint): void {
  assert.equal(logger.metric("connection_counter"), connections);
  assert.equal(logger.metric("connection_active"), 0n);
  assert.equal(logger.metric("connection_downstream_bytes"), 76n * connections);
  assert.equal(logger.metric("connection_upstream_bytes"), 52n * connections);
}

describe("release build/main.wasm", () => {
  it("exports the ABI 0.2.1 marker alone, imports only what Envoy provides, never env.abort, and stays within 40 KiB", () => {
    assertEnvoyModule(WASM_PATH);
  });

  it("logs one connection in Envoy's order and counts it once (xds.* property names)", () => {
    const logger = start();
    assert.ok(logger.messages().includes("info configured: metadata_namespace=location payload_preview_bytes=256"));
    const { contextId } = runConnection(logger, bytes(REQUEST), bytes(REPLY));
    assert.deepEqual(connectionLines(logger, contextId), oneConnectionLines(contextId));
    assertCounted(logger, 1n);
    logger.close();
  });

  it("at info, logs the same info lines and asks for no debug line", () => {
    const logger = start({ level: "info", traced: true });
    logger.trace.length = 0;
    const { contextId } = runConnection(logger, bytes(REQUEST), bytes(REPLY));
    const infoLines = oneConnectionLines(contextId).filter((l) => !l.startsWith("debug"));
    assert.deepEqual(connectionLines(logger, contextId), infoLines);
    assert.equal(hostCalls(logger.trace, "proxy_log"), infoLines.length);
    assertCounted(logger, 1n);
    logger.close();
  });

  it("at warn, builds no info line and reads only the cluster's name, and its metadata once; the counters stay exact", () => {
    const logger = start({ level: "warn", traced: true });
    logger.trace.length = 0;
    runConnection(logger, bytes(REQUEST), bytes(REPLY));
    runConnection(logger, bytes(REQUEST), bytes(REPLY), { name: "bare", metadata: {} });
    // Only the second connection's cluster lacks the namespace: its warning is the only line.
    const lines = logger.messages().filter((line) => !line.includes(" configured: "));
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^warning connection \d+: no upstream cluster metadata "location" for cluster "bare" \(xds\.cluster_metadata: NotFound\)$/);
    assert.equal(hostCalls(logger.trace, "proxy_log"), 1);
    // Per connection the cluster's name, and the metadata of a cluster not seen before (the
    // legacy names are not tried: the host answered an xds.* name); no address, no preview.
    assert.equal(hostCalls(logger.trace, "proxy_get_property"), 2 + 2);
    assert.equal(hostCalls(logger.trace, "proxy_get_buffer_bytes"), 0);
    logger.trace.length = 0;
    runConnection(logger, bytes(REQUEST), bytes(REPLY));
    assert.equal(hostCalls(logger.trace, "proxy_get_property"), 1);
    assertCounted(logger, 3n);
    logger.close();
  });

  it("with logging off, makes no call for logging at all; the counters stay exact", () => {
    const logger = start({ level: "off", traced: true });
    logger.trace.length = 0;
    runConnection(logger, bytes(REQUEST), bytes(REPLY));
    assert.deepEqual(logger.messages(), []);
    for (const name of ["proxy_log", "proxy_get_property", "proxy_get_buffer_bytes"]) assert.equal(hostCalls(logger.trace, name), 0, name);
    assertCounted(logger, 1n);
    logger.close();
  });

  it("honours a level change between two callbacks of one connection", () => {
    const logger = start({ level: "off" });
    const connection = open(logger);
    connection.downstream(bytes(REQUEST));
    logger.setLogLevel("info");
    connection.upstream(bytes(REPLY));
    logger.setLogLevel("warn");
    connection.downstreamEnd();
    connection.upstreamEnd();
    connection.upstreamClose();
    logger.setLogLevel("info");
    connection.close("remote");
    const lines = oneConnectionLines(connection.contextId);
    // The connection opened while logging was off: its start was not read, so no duration.
    const done = lines[12].replace(", <ms> ms", "");
    assert.deepEqual(connectionLines(logger, connection.contextId), [...lines.slice(2, 6), lines[7], lines[11], done]);
    assertCounted(logger, 1n);
    logger.close();
  });

  it("reads cluster metadata through the legacy names of Envoy <= 1.24", () => {
    const logger = start({ propertyNames: "legacy" });
    runConnection(logger, bytes("x"), bytes("y"));
    const metadata = logger.messages().filter((l) => l.includes(" metadata "));
    assert.deepEqual(metadata.map((l) => l.replace(/connection \d+: /, "")), [
      "info upstream cluster metadata location.az: ap-northeast-1a",
      "info upstream cluster metadata location.cloud_provider: aws",
      "info upstream cluster metadata location.region: ap-northeast-1",
      // The legacy name answered for the cluster: only legacy names are read from then on.
      "debug no upstream host metadata \"location\" (upstream_host_metadata: NotFound)",
    ]);
    logger.close();
  });

  it("warns, and carries on, when the cluster has no metadata in the namespace", () => {
    const logger = start();
    runConnection(logger, bytes("x"), bytes("y"), { name: "bare", metadata: {} });
    assert.ok(logger.messages().some((l) => /^warning connection \d+: no upstream cluster metadata "location" for cluster "bare" \(xds\.cluster_metadata: NotFound, cluster_metadata: NotFound\)$/.test(l)));
    assert.ok(logger.messages().some((l) => /^info connection \d+: upstream data: 1 bytes: y$/.test(l)));
    assert.equal(logger.metric("connection_counter"), 1n);
    logger.close();
  });

  it("passes every byte on unchanged, each way", () => {
    const logger = start();
    const connection = runConnection(logger, bytes(REQUEST), bytes(REPLY));
    assert.deepEqual([connection.upstreamBytes.toString("latin1"), connection.clientBytes.toString("latin1")], [REQUEST, REPLY]);
    assert.equal(connection.upstreamStarted, true);
    logger.close();
  });

  it("escapes binary and hostile payloads: no raw control character reaches a log line", () => {
    const logger = start();
    runConnection(logger, bytes("\x1b[2J\x1b]0;owned\x07\r\nhi\xff\xfe!\\"), bytes("\x00\x7f\x9b"));
    const lines = logger.messages();
    assert.ok(lines.some((l) => l.endsWith("downstream data: 22 bytes: \\x1b[2J\\x1b]0;owned\\x07\\r\\nhi\\xff\\xfe!\\\\")));
    assert.ok(lines.some((l) => l.endsWith("upstream data: 3 bytes: \\x00\\x7f\\x9b")));
    for (const line of lines) assert.doesNotMatch(line, /[\x00-\x1f\x7f-\uffff]/);
    logger.close();
  });

  it("copies only the preview budget of a 1 MiB chunk into wasm memory", () => {
    const logger = start({ configuration: "{\"payload_preview_bytes\": 16}" });
    const worker = () => logger.diagnostics().find((d) => d.role.startsWith("worker"))!;
    const connection = logger.accept(CLIENT);
    connection.newConnection();
    const copiedBefore = worker().bytesCopiedIn;
    connection.downstream(new Uint8Array(1024 * 1024).fill(0x41));
    const copied = worker().bytesCopiedIn - copiedBefore;
    assert.ok(copied <= 16 + 64, `copied ${copied} bytes`);
    assert.ok(logger.messages().some((l) => l.endsWith(`downstream data: 1048576 bytes: ${"A".repeat(16)} ... (+1048560 bytes)`)));
    connection.close("remote");
    logger.close();
  });

  it("keeps every line exact when connections interleave and one line is far longer than the rest", () => {
    // Lines are built in one buffer that grows to the longest line: nothing of one line may leak
    // into the next, whichever connection logs it.
    const logger = start({ configuration: "{\"payload_preview_bytes\": 4096}" });
    const [a, b] = [open(logger), open(logger)];
    a.downstream(new Uint8Array(5000)); // 4096 NULs shown: a line of 16 KiB
    b.downstream(bytes("hi"));
    b.upstream(bytes("ok"));
    a.upstream(bytes("\r\n"));
    b.close("local");
    a.close("remote");
    const [idA, idB] = [a.contextId, b.contextId];
    const metadata = (id: number | undefined) => [
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
    logger.close();
  });

  it("prints the lifecycle trace of docs/local-host.md for one curl request, byte for byte", (t) => {
    // docs/local-host.md "The lifecycle of one connection": the trace block, the plugin's log lines cut to `(log) ` and 100 characters
    const readme = readFileSync(LOCAL_HOST_DOC, "utf8");
    const block = readme.slice(readme.indexOf("\n", readme.indexOf("$ make local ARGS=--trace")) + 1);
    const expected = block.slice(0, block.indexOf("\n```")).split("\n");
    // what differs from one real run to the next: the client's port, and how long the connection took
    const clientPort = Number(/source\.address = "127\.0\.0\.1:(\d+)"/.exec(block)![1]);
    const durationMs = Number(/, (\d+) ms\n/.exec(block)![1]);
    let now = Date.UTC(2026, 10, 25, 15, 53, 6);
    t.mock.method(Date, "now", () => now);
    const output: string[] = [];
    // the CLI's own logger and trace lines, as `make local ARGS=--trace` prints them
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
    const connection = new TestConnection(plugin, { ...CLIENT, source: { address: "127.0.0.1", port: clientPort }, listenerName: "main" });
    connection.newConnection();
    connection.clusterSelected(WEB_SERVICE);
    connection.upstreamConnected(UPSTREAM_HOST);
    connection.downstream(bytes("POST / HTTP/1.1\r\nHost: localhost:18000\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nContent-Length: 14\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n[initial body]"));
    connection.upstream(bytes("HTTP/1.1 200 OK\r\ncontent-length: 13\r\ncontent-type: text/plain\r\ndate: Wed, 25 Nov 2026 15:53:06 GMT\r\nserver: envoy\r\n\r\nexample body\n"));
    connection.downstreamEnd();
    connection.upstreamEnd();
    connection.upstreamClose();
    now += durationMs;
    connection.close("local");
    const shown = output.map((line) => {
      const log = /\]\[wasm\] \[[^\]]+\] wasm log [^:]+: (.*)$/.exec(line);
      return log === null ? line : `    (log) ${log[1].slice(0, 100)}`;
    });
    assert.deepEqual(shown, expected);
    plugin.close();
  });

  it("refuses a bad configuration: the start fails, and an error line names the key", () => {
    assert.throws(
      () => start({ configuration: "{\"foo\": 1}" }),
      (error) => error instanceof FilterStartError && error.messages.includes("error invalid plugin configuration: unknown key \"foo\""),
    );
  });

  it("refuses valid JSON that is not an object, saying what it is", () => {
    const cases: Array<[string, string]> = [
      ["null", "null"], ["[]", "an array"], ["[[1], {}]", "an array"], ["42", "a number"], ['"location"', "a string"], [" true ", "true"], ["false", "false"],
    ];
    for (const [configuration, kind] of cases) {
      assert.throws(
        () => start({ configuration }),
        (error) => error instanceof FilterStartError &&
          assert.deepEqual(error.messages, [`error invalid plugin configuration: configuration must be a JSON object, got ${kind}`]) === undefined,
        configuration,
      );
    }
  });

  it("shows at most 256 bytes of a key it refuses, and how many more there are", () => {
    const key = "k".repeat(5000000);
    assert.throws(
      () => start({ configuration: `{"${key}": 1}` }),
      (error) => error instanceof FilterStartError &&
        assert.deepEqual(error.messages, [`error invalid plugin configuration: unknown key "${"k".repeat(256)}" ... (+4999744 bytes)`]) === undefined,
    );
  });

  it("keeps memory flat over 100,000 connection lifecycles", () => {
    const logger = start();
    const memory = () => logger.diagnostics().reduce((sum, d) => sum + d.memoryBytes, 0);
    const request = bytes(REQUEST);
    const reply = bytes(REPLY);
    for (let i = 0; i < 1000; i++) runConnection(logger, request, reply);
    const after1000 = memory();
    for (let i = 0; i < 99000; i++) runConnection(logger, request, reply);
    assert.equal(memory(), after1000);
    assert.equal(logger.metric("connection_counter"), 100000n);
    assert.equal(logger.activeConnections, 0);
    logger.close();
  });

  it("holds 10,000 open connections, then frees them all", () => {
    const logger = start();
    const memory = () => logger.diagnostics().reduce((sum, d) => sum + d.memoryBytes, 0);
    const openAndClose = () => {
      const connections = Array.from({ length: 10000 }, () => {
        const connection = open(logger);
        connection.downstream(bytes("ping"));
        return connection;
      });
      assert.equal(logger.activeConnections, 10000);
      assert.equal(logger.metric("connection_active"), 10000n);
      for (const connection of connections) connection.close("local");
    };
    openAndClose();
    const afterFirstRound = memory();
    openAndClose();
    assert.equal(memory(), afterFirstRound);
    assert.equal(logger.activeConnections, 0);
    assert.equal(logger.metric("connection_active"), 0n);
    assert.equal(logger.metric("connection_counter"), 20000n);
    logger.close();
  });
});
