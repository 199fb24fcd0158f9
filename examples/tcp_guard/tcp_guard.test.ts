// The release build/tcp_guard.wasm in the local host's proxy-wasm host: refusals by source,
// the byte limit, the PROXY protocol line, configuration errors. Each connection records what the
// filter let through to the upstream and whether it closed the connection; the trace shows the
// status each callback returned and the host calls made inside it.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LogLevelName } from "../../host/loggers.ts";
import { FilterStartError, startFilter, traceLine, type ConnectionOptions, type FilterUnderTest, type TestConnection } from "../../host/testing/index.ts";
import { assertEnvoyModule } from "../../tests/helpers/envoy-module.ts";

const WASM_PATH = new URL("../../build/tcp_guard.wasm", import.meta.url).pathname;
const LISTENER = { address: "127.0.0.1", port: 18000 };
const LISTENER_V6 = { address: "2001:db8::2", port: 18000 };

function start(configuration: string, level: LogLevelName = "debug"): FilterUnderTest {
  return startFilter({ wasm: WASM_PATH, rootId: "tcp_guard", configuration, logLevel: level, trace: true });
}

/** A client at `address`:`port` on the listener. */
function client(address: string, port: number, destination = LISTENER): ConnectionOptions {
  return { source: { address, port }, destination, listenerName: "main" };
}

/** A connection from `options` that the filter has been told of (proxy_on_new_connection). */
function open(guard: FilterUnderTest, options: ConnectionOptions): TestConnection {
  return guard.connect(options);
}

/** The client sends `chunks` one by one; an empty chunk is its end of stream. */
function send(connection: TestConnection, ...chunks: string[]): void {
  for (const chunk of chunks) connection.downstream(chunk, chunk === "");
}

/** The filter's log lines of connections, the `configured:` lines left out. */
function connectionMessages(guard: FilterUnderTest): string[] {
  return guard.messages().filter((line) => !line.includes(" configured: "));
}

/**
 * The n-th call (from 0) of `callback` for connection `id`: its host calls, then its return line.
 * Calls that pass addresses in wasm memory show `…` for their arguments; the log level queries
 * are left out.
 */
function callbackTrace(guard: FilterUnderTest, callback: string, id: number | undefined, n = 0): string[] {
  const lines = guard.trace.map((event) => traceLine(event).replace(/^\[\d+\] /, ""));
  const starts = lines.flatMap((line, i) => (line.startsWith(`→ ${callback}(${id}`) ? [i] : []));
  const start = starts[n];
  assert.notEqual(start, undefined, `no call ${n} of ${callback} for connection ${id}`);
  const end = lines.findIndex((line, i) => i > start && line.startsWith(`← ${callback}`));
  return lines
    .slice(start + 1, end + 1)
    .filter((line) => !line.startsWith("  proxy_get_log_level("))
    .map((line) => line.replace(/^ {2}(proxy_(?:get_property|log|get_buffer_bytes))\([^)]*\)/, "  $1(…)"));
}

/** How many calls of `callback` connection `id` has had. */
function callCount(guard: FilterUnderTest, callback: string, id: number | undefined): number {
  return guard.trace.filter((event) => event.kind === "enter" && event.name === callback && event.args[0] === id).length;
}

function counters(guard: FilterUnderTest): bigint[] {
  return ["connections", "denied", "over_limit"].map((name) => guard.metric(`tcp_guard_${name}`) ?? -1n);
}

/** The host calls named `name` the filter made. */
function hostCallsNamed(guard: FilterUnderTest, name: string): number {
  return guard.trace.filter((event) => event.kind === "host" && event.name === name).length;
}

describe("release build/tcp_guard.wasm", () => {
  it("exports the ABI 0.2.1 marker alone, imports only what Envoy provides, and stays within 40 KiB", () => {
    assertEnvoyModule(WASM_PATH);
  });

  it("logs its configuration, CIDRs in canonical form", () => {
    const guard = start('{"deny_sources": ["10.1.2.3/8", "2001:DB8:0:0::/32", "::1/128"], "max_downstream_bytes": 4096, "proxy_protocol": true}');
    // The canary, the main thread's VM, the worker: one line each.
    assert.deepEqual(guard.messages(), Array(3).fill(
      "info configured: deny_sources=[10.0.0.0/8, 2001:db8::/32, ::1/128] max_downstream_bytes=4096 proxy_protocol=true",
    ));
    guard.close();
  });

  it("refuses a denied IPv4 source: closes it and stops in proxy_on_new_connection, no upstream connection, counts it, logs why", () => {
    const guard = start('{"deny_sources": ["10.0.0.0/8", "2001:db8::/32"]}');
    const connection = open(guard, client("10.1.2.3", 40000));
    const id = connection.contextId;
    assert.deepEqual(callbackTrace(guard, "proxy_on_new_connection", id), [
      "  proxy_increment_metric(4, 1) → Ok  tcp_guard_connections += 1",
      '  proxy_get_property(…) → Ok  source.address = "10.1.2.3:40000"',
      "  proxy_increment_metric(8, 1) → Ok  tcp_guard_denied += 1",
      "  proxy_log(…) → Ok  info",
      "  proxy_close_stream(2) → Ok  Downstream",
      "← proxy_on_new_connection = 1  StopIteration",
    ]);
    assert.deepEqual([connection.newConnectionStatus, connection.closed, connection.upstreamStarted], ["StopIteration", true, false]);
    // Whatever the client sends afterwards, the closed connection's chain passes nothing on, the filter included.
    send(connection, "GET / HTTP/1.1\r\n\r\n", "");
    assert.equal(callCount(guard, "proxy_on_downstream_data", id), 0);
    connection.close("local");
    assert.deepEqual(connection.events, ["close downstream"]);
    assert.deepEqual([connection.bytesForwarded, connection.upstreamStarted], [{ upstream: 0, client: 0 }, false]);
    assert.deepEqual(connectionMessages(guard), [`info connection ${id}: refused: source 10.1.2.3:40000 is in deny_sources 10.0.0.0/8`]);
    assert.deepEqual(counters(guard), [1n, 1n, 0n]);
    guard.close();
  });

  it("refuses a denied IPv6 source, [ip]:port as Envoy writes it: closed, no upstream connection", () => {
    const guard = start('{"deny_sources": ["10.0.0.0/8", "2001:db8::/32", "::1/128"]}');
    const ids: Array<number | undefined> = [];
    for (const address of ["2001:db8:0:ffff::7", "::1"]) {
      const connection = open(guard, client(address, 40000, LISTENER_V6));
      ids.push(connection.contextId);
      assert.equal(callbackTrace(guard, "proxy_on_new_connection", connection.contextId).at(-1), "← proxy_on_new_connection = 1  StopIteration");
      assert.deepEqual([connection.events, connection.upstreamStarted], [["close downstream"], false]);
      connection.close("local");
    }
    assert.deepEqual(connectionMessages(guard), [
      `info connection ${ids[0]}: refused: source [2001:db8:0:ffff::7]:40000 is in deny_sources 2001:db8::/32`,
      `info connection ${ids[1]}: refused: source [::1]:40000 is in deny_sources ::1/128`,
    ]);
    assert.deepEqual(counters(guard), [2n, 2n, 0n]);
    guard.close();
  });

  it("lets every other source through untouched, IPv4 and IPv6, at the edges of the ranges", () => {
    const guard = start('{"deny_sources": ["10.0.0.0/8", "2001:db8::/32", "::1/128"]}');
    for (const address of ["9.255.255.255", "11.0.0.0", "127.0.0.1", "2001:db9::", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "::2"]) {
      const connection = open(guard, client(address, 40000, address.includes(":") ? LISTENER_V6 : LISTENER));
      assert.equal(callbackTrace(guard, "proxy_on_new_connection", connection.contextId).at(-1), "← proxy_on_new_connection = 0  Continue", address);
      assert.equal(connection.upstreamStarted, true, address);
      send(connection, "hello", "");
      connection.close("remote");
      assert.deepEqual(connection.events, ['to upstream "hello"', 'to upstream "" eos'], address);
      assert.equal(connection.closed, false, address);
    }
    assert.deepEqual(connectionMessages(guard), []);
    assert.deepEqual(counters(guard), [6n, 0n, 0n]);
    guard.close();
  });

  it("warns, and lets the connection through, when the source is not an IP address", () => {
    const guard = start('{"deny_sources": ["0.0.0.0/0", "::/0"]}');
    const connection = open(guard, client("@envoy-pipe", 0));
    const id = connection.contextId;
    assert.equal(callbackTrace(guard, "proxy_on_new_connection", id).at(-1), "← proxy_on_new_connection = 0  Continue");
    send(connection, "hello");
    connection.close("remote");
    assert.deepEqual(connection.events, ['to upstream "hello"']);
    assert.deepEqual(connectionMessages(guard), [`warning connection ${id}: source address @envoy-pipe:0 is not an IP address: deny_sources not applied`]);
    assert.deepEqual(counters(guard), [1n, 0n, 0n]);
    guard.close();
  });

  it("warns, and lets the connection through, when the source address is unavailable (NotFound)", () => {
    const guard = start('{"deny_sources": ["0.0.0.0/0", "::/0"]}');
    const connection = open(guard, { source: null });
    const id = connection.contextId;
    assert.deepEqual(callbackTrace(guard, "proxy_on_new_connection", id).slice(1, 2), ["  proxy_get_property(…) → NotFound  source.address"]);
    assert.deepEqual([connection.newConnectionStatus, connection.upstreamStarted], ["Continue", true]);
    connection.close("remote");
    assert.deepEqual(connectionMessages(guard), [`warning connection ${id}: source address unavailable: NotFound: deny_sources not applied`]);
    guard.close();
  });

  it("prepends the PROXY line to the first downstream chunk only, with proxy_set_buffer_bytes(start 0, length 0): TCP4", () => {
    const guard = start('{"proxy_protocol": true}');
    const connection = open(guard, client("192.0.2.10", 51234));
    send(connection, "GET / HTTP/1.1\r\n", "Host: x\r\n\r\n", "");
    const id = connection.contextId;
    assert.deepEqual(connection.events, [
      'to upstream "PROXY TCP4 192.0.2.10 127.0.0.1 51234 18000\r\nGET / HTTP/1.1\r\n"',
      'to upstream "Host: x\r\n\r\n"',
      'to upstream "" eos',
    ]);
    assert.equal(connection.upstreamBytes.toString(), "PROXY TCP4 192.0.2.10 127.0.0.1 51234 18000\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.ok(
      callbackTrace(guard, "proxy_on_downstream_data", id).some((l) => /^ {2}proxy_set_buffer_bytes\(2, 0, 0, \d+, 45\) → Ok {2}NetworkDownstreamData\[0\.\.0\] replaced with 45 bytes$/.test(l)),
    );
    assert.equal(hostCallsNamed(guard, "proxy_set_buffer_bytes"), 1);
    assert.deepEqual(connectionMessages(guard), [`debug connection ${id}: prepended PROXY TCP4 192.0.2.10 127.0.0.1 51234 18000\\r\\n`]);
    connection.close("remote");
    guard.close();
  });

  it("writes TCP6 with the IPv6 addresses unbracketed", () => {
    const guard = start('{"proxy_protocol": true}');
    const connection = open(guard, client("2001:db8::1", 40000, LISTENER_V6));
    send(connection, "ping");
    assert.deepEqual(connection.events, ['to upstream "PROXY TCP6 2001:db8::1 2001:db8::2 40000 18000\r\nping"']);
    connection.close("remote");
    guard.close();
  });

  it("writes PROXY UNKNOWN when the addresses cannot fill the line: not an IP address, two families, or unavailable", () => {
    const guard = start('{"proxy_protocol": true}');
    const infos = [client("127.0.0.1", 40000, LISTENER_V6), client("2001:db8::1", 40000), client("@envoy-pipe", 0), { source: null }, { destination: null }];
    for (const info of infos) {
      const connection = open(guard, info);
      send(connection, "ping", "pong");
      assert.deepEqual(connection.events, ['to upstream "PROXY UNKNOWN\r\nping"', 'to upstream "pong"'], JSON.stringify(info));
      connection.close("remote");
    }
    guard.close();
  });

  it("sends the PROXY line even when the client's first news is its end of stream", () => {
    const guard = start('{"proxy_protocol": true}');
    const connection = open(guard, client("192.0.2.10", 51234));
    send(connection, "");
    assert.deepEqual(connection.events, ['to upstream "PROXY TCP4 192.0.2.10 127.0.0.1 51234 18000\r\n" eos']);
    connection.close("remote");
    guard.close();
  });

  it("closes a connection on the chunk that takes it past max_downstream_bytes, and holds that chunk and all after it", () => {
    const guard = start('{"max_downstream_bytes": 10}');
    const connection = open(guard, client("192.0.2.10", 51234));
    const id = connection.contextId;
    send(connection, "12345", "6789012"); // 12 bytes in all: the limit is crossed inside the second chunk
    assert.deepEqual(callbackTrace(guard, "proxy_on_downstream_data", id, 1), [
      "  proxy_increment_metric(12, 1) → Ok  tcp_guard_over_limit += 1",
      "  proxy_log(…) → Ok  info",
      "  proxy_close_stream(2) → Ok  Downstream",
      "  proxy_close_stream(3) → Ok  Upstream",
      "← proxy_on_downstream_data = 1  StopIteration",
    ]);
    assert.deepEqual([connection.closed, connection.holdingDownstream], [true, true]);
    // The read buffer keeps the chunk; the closed connection's chain passes nothing more, either way.
    assert.equal(connection.heldBytes.toString(), "6789012");
    send(connection, "x", "");
    assert.equal(connection.upstream("late reply"), undefined);
    assert.equal(callCount(guard, "proxy_on_downstream_data", id), 2);
    assert.equal(callCount(guard, "proxy_on_upstream_data", id), 0);
    connection.close("local");
    // Both streams closed, the connection closed once.
    assert.deepEqual(connection.events, ['to upstream "12345"', "close downstream"]);
    assert.deepEqual(connectionMessages(guard), [`info connection ${id}: closed: 12 bytes from downstream exceed max_downstream_bytes 10`]);
    assert.deepEqual(counters(guard), [1n, 0n, 1n]);
    guard.close();
  });

  it("lets a client send exactly max_downstream_bytes, and closes it on the byte after", () => {
    const guard = start('{"max_downstream_bytes": 10}');
    const exact = open(guard, client("192.0.2.10", 51234));
    send(exact, "12345", "67890", "");
    exact.close("remote");
    assert.deepEqual(exact.events, ['to upstream "12345"', 'to upstream "67890"', 'to upstream "" eos']);
    assert.equal(exact.closed, false);

    const over = open(guard, client("192.0.2.10", 51235));
    const id = over.contextId;
    send(over, "1234567890", "1");
    over.close("local");
    assert.deepEqual(over.events, ['to upstream "1234567890"', "close downstream"]);
    assert.deepEqual(connectionMessages(guard), [`info connection ${id}: closed: 11 bytes from downstream exceed max_downstream_bytes 10`]);
    assert.deepEqual(counters(guard), [2n, 0n, 1n]);
    guard.close();
  });

  it("counts the client's bytes against the limit, not the PROXY line's", () => {
    const guard = start('{"max_downstream_bytes": 4, "proxy_protocol": true}');
    const connection = open(guard, client("192.0.2.10", 51234));
    send(connection, "ping");
    connection.close("remote");
    assert.deepEqual(connection.events, ['to upstream "PROXY TCP4 192.0.2.10 127.0.0.1 51234 18000\r\nping"']);
    assert.deepEqual(counters(guard), [1n, 0n, 0n]);
    guard.close();
  });

  it("below info builds no line, and still refuses, closes and counts", () => {
    const guard = start('{"deny_sources": ["10.0.0.0/8"], "max_downstream_bytes": 1}', "warn");
    const denied = open(guard, client("10.0.0.1", 40000));
    const over = open(guard, client("192.0.2.10", 40000));
    send(over, "ab");
    assert.deepEqual(denied.events, ["close downstream"]);
    assert.deepEqual(over.events, ["close downstream"]);
    assert.deepEqual(guard.messages(), []);
    assert.equal(hostCallsNamed(guard, "proxy_log"), 0);
    assert.deepEqual(counters(guard), [2n, 1n, 1n]);
    guard.close();
  });

  it("keeps memory flat over 20,000 connections, refused, over the limit and passed", () => {
    const guard = startFilter({
      wasm: WASM_PATH,
      rootId: "tcp_guard",
      configuration: '{"deny_sources": ["10.0.0.0/8"], "max_downstream_bytes": 8, "proxy_protocol": true}',
    });
    const memory = () => guard.diagnostics().reduce((sum, d) => sum + d.memoryBytes, 0);
    const round = (count: number) => {
      for (let i = 0; i < count; i++) {
        const connection = open(guard, client(i % 3 === 0 ? "10.0.0.1" : "192.0.2.10", 40000));
        send(connection, i % 3 === 1 ? "too many bytes" : "ok");
        connection.close("remote");
      }
    };
    round(2000);
    const warm = memory();
    round(18000);
    assert.equal(memory(), warm);
    assert.equal(guard.activeConnections, 0);
    assert.deepEqual(counters(guard), [20000n, 6667n, 6667n]);
    guard.close();
  });

  describe("refuses a malformed configuration with one error line naming it", () => {
    const cases: Array<[string, string]> = [
      ['{"deny_sources": ["10.0.0.0/33"]}', '"deny_sources"[0]: "10.0.0.0/33" is not a CIDR (an IPv4 or IPv6 address, / and a prefix length)'],
      ['{"deny_sources": ["10.0.0.0/8", "::1/129"]}', '"deny_sources"[1]: "::1/129" is not a CIDR (an IPv4 or IPv6 address, / and a prefix length)'],
      ['{"deny_sources": ["10.0.0.1"]}', '"deny_sources"[0]: "10.0.0.1" is not a CIDR (an IPv4 or IPv6 address, / and a prefix length)'],
      ['{"deny_sources": ["10.0.0.256/8"]}', '"deny_sources"[0]: "10.0.0.256/8" is not a CIDR (an IPv4 or IPv6 address, / and a prefix length)'],
      ['{"deny_sources": ["2001:db8:::/32"]}', '"deny_sources"[0]: "2001:db8:::/32" is not a CIDR (an IPv4 or IPv6 address, / and a prefix length)'],
      ['{"deny_sources": ["010.0.0.0/8"]}', '"deny_sources"[0]: "010.0.0.0/8" is not a CIDR (an IPv4 or IPv6 address, / and a prefix length)'],
      ['{"deny_sources": ["\\u001b[2J/8"]}', '"deny_sources"[0]: "\\x1b[2J/8" is not a CIDR (an IPv4 or IPv6 address, / and a prefix length)'],
      ['{"deny_sources": [7]}', '"deny_sources"[0] must be a CIDR string'],
      ['{"deny_sources": [["10.0.0.0/8"]]}', '"deny_sources"[0] must be a CIDR string'],
      ['{"deny_sources": "10.0.0.0/8"}', '"deny_sources" must be an array of CIDR strings'],
      ['{"deny_sources": {"cidr": "10.0.0.0/8"}}', '"deny_sources" must be an array of CIDR strings'],
      ['{"max_downstream_bytes": -1}', '"max_downstream_bytes" must be an integer from 0 (no limit) to 9223372036854775807'],
      ['{"max_downstream_bytes": 1.5}', '"max_downstream_bytes" must be an integer from 0 (no limit) to 9223372036854775807'],
      ['{"max_downstream_bytes": 1e3}', '"max_downstream_bytes" must be an integer from 0 (no limit) to 9223372036854775807'],
      ['{"max_downstream_bytes": "1024"}', '"max_downstream_bytes" must be an integer from 0 (no limit) to 9223372036854775807'],
      ['{"max_downstream_bytes": 9223372036854775808}', '"max_downstream_bytes" must be an integer from 0 (no limit) to 9223372036854775807'],
      ['{"proxy_protocol": "true"}', '"proxy_protocol" must be true or false'],
      ['{"proxy_protocol": 1}', '"proxy_protocol" must be true or false'],
      ['{"proxy_protocol": null}', '"proxy_protocol" must be true or false'],
      ['{"deny": ["10.0.0.0/8"]}', 'unknown key "deny"'],
      ['{"proxy_protocol": true, "proxy_protocol": false}', 'duplicate key "proxy_protocol"'],
      ['{"deny_sources": [}', "malformed JSON at byte 18"],
      ['{"deny_sources": [[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]}', "JSON nested deeper than 16 levels at byte 33"],
      ["null", "configuration must be a JSON object, got null"],
      ["[]", "configuration must be a JSON object, got an array"],
      ['["10.0.0.0/8"]', "configuration must be a JSON object, got an array"],
      ["42", "configuration must be a JSON object, got a number"],
      ['"10.0.0.0/8"', "configuration must be a JSON object, got a string"],
      ["[1,]", "malformed JSON at byte 3"],
      ["null null", "malformed JSON at byte 5"],
    ];
    for (const [configuration, error] of cases) {
      it(configuration, () => {
        assertRefused(configuration, error);
      });
    }

    it("a 5 MB entry of deny_sources: its first 256 bytes, and how many more there are", () => {
      const entry = "\\u001b".repeat(5) + "x".repeat(5000000 - 5);
      assertRefused(`{"deny_sources": ["10.0.0.0/8", "${entry}"]}`,
        `"deny_sources"[1]: "${"\\x1b".repeat(5)}${"x".repeat(251)}" ... (+4999744 bytes) is not a CIDR (an IPv4 or IPv6 address, / and a prefix length)`);
    });
  });
});

/** Starting tcp_guard with `configuration` fails: its error line, then Envoy's from the canary. */
function assertRefused(configuration: string, error: string): void {
  let refused: FilterStartError | undefined;
  try {
    startFilter({ wasm: WASM_PATH, name: "tcp_guard", rootId: "tcp_guard", configuration });
  } catch (caught) {
    if (caught instanceof FilterStartError) refused = caught;
  }
  assert.ok(refused, "the configuration was taken");
  const wasmLines = refused.lines.filter((line) => line.includes("[wasm]"));
  assert.equal(wasmLines.length, 2, wasmLines.join("\n").slice(0, 2000));
  assert.ok(wasmLines[1].endsWith("[error][wasm] [source/extensions/common/wasm/wasm.cc:109] Wasm VM failed Failed to configure base Wasm plugin"), wasmLines[1]);
  assert.ok(wasmLines[0].endsWith(`[error][wasm] [source/extensions/common/wasm/context.cc:1157] wasm log tcp_guard: invalid plugin configuration: ${error}`), wasmLines[0].slice(0, 2000));
}
