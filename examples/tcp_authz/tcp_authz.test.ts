// The release build/tcp_authz.wasm in the local host's proxy-wasm host: the question each new
// connection sends, the connection held until the answer, admitted on a 2xx and closed on any
// other, failure_mode after a failure, a client that leaves before the answer, and refused
// configurations. The answers are given by the test, one by one, as Envoy's async client would
// deliver them (docs/envoy-host.md §19): no timer, no socket.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  FilterStartError, startFilter, traceLine, type FilterUnderTest, type HttpCallDispatcher, type HttpCallRequest, type TestConnection,
} from "../../host/testing/index.ts";
import type { HttpCallHandlers, HttpCallResponse } from "../../host/wasm/api.ts";
import { assertEnvoyModule } from "../../tests/helpers/envoy-module.ts";

const WASM_PATH = new URL("../../build/tcp_authz.wasm", import.meta.url).pathname;
const CLIENT = { source: { address: "10.1.2.3", port: 40000 }, destination: { address: "127.0.0.1", port: 18000 }, listenerName: "main" };
const SHIPPED = '{"cluster": "authz", "path": "/check", "timeout_ms": 1000, "failure_mode": "deny"}';
const ALLOW_ON_FAILURE = '{"cluster": "authz", "path": "/check", "timeout_ms": 1000, "failure_mode": "allow"}';

/** Calls held until the test answers them, as the async client would, at a moment the test picks. */
class HeldHttpCalls implements HttpCallDispatcher {
  readonly requests: HttpCallRequest[] = [];
  readonly handlers: HttpCallHandlers[] = [];
  cancelled = 0;

  hasCluster(name: string): boolean {
    return name === "authz";
  }

  send(request: HttpCallRequest, handlers: HttpCallHandlers) {
    this.requests.push(request);
    this.handlers.push(handlers);
    return { cancel: () => void this.cancelled++ };
  }

  /** Answers the n-th call with `status` (and Envoy's local-reply headers), or resets it. */
  answer(n: number, status: number | "reset", body = ""): void {
    const handlers = this.handlers[n]!;
    if (status === "reset") {
      handlers.onFailure();
      return;
    }
    const response: HttpCallResponse = {
      headers: [[":status", String(status)], ["content-length", String(body.length)], ["content-type", "text/plain"]],
      body: Buffer.from(body),
      trailers: [],
    };
    handlers.onSuccess(response);
  }
}

function start(configuration = SHIPPED, calls = new HeldHttpCalls()): { authz: FilterUnderTest; calls: HeldHttpCalls } {
  return { authz: startFilter({ wasm: WASM_PATH, rootId: "tcp_authz", configuration, httpCalls: calls, trace: true }), calls };
}

/** The filter's log lines of connections, the `configured:` lines left out. */
function connectionMessages(authz: FilterUnderTest): string[] {
  return authz.messages().filter((line) => !line.includes(" configured: "));
}

function counters(authz: FilterUnderTest): bigint[] {
  return ["allowed", "denied", "failed"].map((name) => authz.metric(`tcp_authz_${name}`) ?? -1n);
}

/** What a held connection looks like: asked, StopIteration, no upstream, not closed. */
function assertHeld(connection: TestConnection): void {
  assert.deepEqual([connection.newConnectionStatus, connection.upstreamStarted, connection.closed], ["StopIteration", false, false]);
}

/** The trace of every proxy_on_http_call_response: its call, its host calls, its return. */
function responseTraces(authz: FilterUnderTest): string[] {
  const lines = authz.trace.map((event) => traceLine(event).replace(/^\[\d+\] /, ""));
  const out: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (line.startsWith("→ proxy_on_http_call_response")) inside = true;
    if (inside && !line.startsWith("  proxy_get_log_level(")) out.push(line.replace(/^ {2}(proxy_(?:log|get_header_map_value))\([^)]*\)/, "  $1(…)"));
    if (line.startsWith("← proxy_on_http_call_response")) inside = false;
  }
  return out;
}

describe("release build/tcp_authz.wasm", () => {
  it("exports the ABI 0.2.1 marker alone, imports only what Envoy provides, and stays within 40 KiB", () => {
    assertEnvoyModule(WASM_PATH);
  });

  it("logs its configuration, defaults filled in", () => {
    const { authz } = start("");
    assert.deepEqual(authz.messages(), Array(3).fill("info configured: cluster=authz path=/check timeout_ms=1000 failure_mode=deny"));
  });

  it("asks the service with the client's and the listener's addresses, and holds the connection", () => {
    const { authz, calls } = start('{"cluster": "authz", "path": "/v1/admit?x=1", "timeout_ms": 250}');
    const connection = authz.connect(CLIENT);
    assertHeld(connection);
    assert.equal(calls.requests.length, 1);
    assert.deepEqual(calls.requests[0], {
      cluster: "authz",
      headers: [
        [":method", "GET"],
        [":path", "/v1/admit?x=1"],
        [":authority", "authz"],
        ["x-source-address", "10.1.2.3:40000"],
        ["x-destination-address", "127.0.0.1:18000"],
      ],
      body: new Uint8Array(0),
      trailers: [],
      timeoutMs: 250,
    });
  });

  it("a 2xx answer admits the connection: tcp_proxy connects and gets every byte held meanwhile, intact", () => {
    const { authz, calls } = start();
    const connection = authz.connect(CLIENT);
    assert.equal(connection.downstream("GET / HTTP/1.1\r\n"), "StopIteration");
    assert.equal(connection.downstream("Host: x\r\n\r\n"), "StopIteration");
    assertHeld(connection);
    assert.equal(connection.heldBytes.toString(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    calls.answer(0, 204);
    assert.deepEqual([connection.upstreamStarted, connection.closed], [true, false]);
    assert.deepEqual(connection.events, ['to upstream "GET / HTTP/1.1\r\nHost: x\r\n\r\n"']);
    // from now on the bytes go straight through
    assert.equal(connection.downstream("more"), "Continue");
    assert.deepEqual(connection.events.slice(1), ['to upstream "more"']);
    assert.deepEqual(connectionMessages(authz), [`info connection ${connection.contextId}: allowed: authz answered 204`]);
    assert.deepEqual(counters(authz), [1n, 0n, 0n]);
    // Envoy answers on the root context (id 1); the kit acts on the connection through the effective context
    assert.deepEqual(responseTraces(authz), [
      "→ proxy_on_http_call_response(1, 4, 3, 0, 0)  token 4: 3 headers, 0 bytes, 0 trailers",
      `  proxy_set_effective_context(${connection.contextId}) → Ok  context ${connection.contextId}`,
      "  proxy_get_header_map_value(…) → Ok  HttpCallResponseHeaders :status",
      "  proxy_increment_metric(4, 1) → Ok  tcp_authz_allowed += 1",
      "  proxy_log(…) → Ok  info",
      "  proxy_continue_stream(2) → Ok  Downstream",
      "← proxy_on_http_call_response",
    ]);
  });

  it("a 403 closes the connection: tcp_proxy never connects, the bytes held never pass", () => {
    const { authz, calls } = start();
    const connection = authz.connect(CLIENT);
    connection.downstream("secret");
    calls.answer(0, 403, "denied\n");
    assert.deepEqual([connection.upstreamStarted, connection.closed, connection.events], [false, true, ["close downstream"]]);
    assert.equal(connection.downstream("more"), undefined);
    assert.deepEqual(connectionMessages(authz), [`info connection ${connection.contextId}: denied: authz answered 403`]);
    assert.deepEqual(counters(authz), [0n, 1n, 0n]);
  });

  describe("failure_mode after a failed question", () => {
    // What Envoy hands the filter for each failure (docs/envoy-host.md §19).
    const failures: Array<{ name: string; reason: string; fail: (calls: HeldHttpCalls) => void; cluster?: string }> = [
      { name: "the stream reset", reason: "reset", fail: (calls) => calls.answer(0, "reset") },
      { name: "the timeout (the router's 504)", reason: "answered 504", fail: (calls) => calls.answer(0, 504, "upstream request timeout") },
      { name: "the service unreachable (the router's 503)", reason: "answered 503", fail: (calls) => calls.answer(0, 503, "no healthy upstream") },
      { name: "an unknown cluster (refused at dispatch)", reason: "not sent: BadArgument", fail: () => {}, cluster: "nowhere" },
    ];
    for (const { name, reason, fail, cluster } of failures) {
      for (const mode of ["allow", "deny"] as const) {
        it(`${name}, failure_mode ${mode}`, () => {
          const configuration = JSON.stringify({ cluster: cluster ?? "authz", failure_mode: mode });
          const { authz, calls } = start(configuration);
          const connection = authz.connect(CLIENT);
          if (cluster === undefined) connection.downstream("early");
          fail(calls);
          const admitted = mode === "allow";
          assert.deepEqual([connection.upstreamStarted, connection.closed], [admitted, !admitted]);
          if (cluster === undefined) assert.deepEqual(connection.events, admitted ? ['to upstream "early"'] : ["close downstream"]);
          assert.deepEqual(connectionMessages(authz), [
            `warning connection ${connection.contextId}: authz failed (${reason}): failure_mode ${admitted ? "allow admits" : "deny refuses"} the connection`,
          ]);
          assert.deepEqual(counters(authz), [0n, 0n, 1n]);
          assert.equal(calls.requests.length, cluster === undefined ? 1 : 0);
        });
      }
    }
  });

  it("a client that leaves before the answer: the answer is dropped, nothing touches the dead connection, the next one works", () => {
    const { authz, calls } = start(ALLOW_ON_FAILURE);
    const gone = authz.connect(CLIENT);
    gone.downstream("bye");
    gone.close("remote");
    assert.deepEqual(connectionMessages(authz), [`info connection ${gone.contextId}: closed before authz answered`]);
    // Envoy does not cancel it: the call is the root context's
    assert.equal(calls.cancelled, 0);
    calls.answer(0, 200);
    assert.deepEqual(responseTraces(authz), ["→ proxy_on_http_call_response(1, 4, 3, 0, 0)  token 4: 3 headers, 0 bytes, 0 trailers", "← proxy_on_http_call_response"]);
    assert.deepEqual(counters(authz), [0n, 0n, 0n]);
    const next = authz.connect(CLIENT);
    calls.answer(1, 200);
    assert.deepEqual([next.upstreamStarted, next.closed, authz.metric("tcp_authz_allowed")], [true, false, 1n]);
  });

  it("answers come in any order, each to its own connection", () => {
    const { authz, calls } = start();
    const first = authz.connect(CLIENT);
    const second = authz.connect({ ...CLIENT, source: { address: "10.1.2.4", port: 40001 } });
    calls.answer(1, 200);
    calls.answer(0, 403);
    assert.deepEqual([first.upstreamStarted, first.closed, second.upstreamStarted, second.closed], [false, true, true, false]);
    assert.deepEqual(counters(authz), [1n, 1n, 0n]);
  });

  describe("refuses a bad configuration with one line naming the setting", () => {
    const cases: Array<[string, string]> = [
      ['{"cluster": ""}', '"cluster" must be a cluster\'s name, a non-empty string'],
      ['{"cluster": 7}', '"cluster" must be a cluster\'s name, a non-empty string'],
      ['{"path": "check"}', '"path" must be a string starting with /'],
      ['{"timeout_ms": 0}', '"timeout_ms" must be an integer from 1 to 2147483647'],
      ['{"timeout_ms": 2147483648}', '"timeout_ms" must be an integer from 1 to 2147483647'],
      ['{"timeout_ms": "1000"}', '"timeout_ms" must be an integer from 1 to 2147483647'],
      ['{"failure_mode": "open"}', '"failure_mode" must be "allow" or "deny"'],
      ['{"failure": "allow"}', 'unknown key "failure"'],
      ['{"cluster": "a", "cluster": "b"}', 'duplicate key "cluster"'],
    ];
    for (const [configuration, error] of cases) {
      it(configuration, () => {
        assert.throws(
          () => start(configuration),
          (thrown: unknown) => {
            assert.ok(thrown instanceof FilterStartError);
            assert.deepEqual(thrown.messages, [`error invalid plugin configuration: ${error}`]);
            return true;
          },
        );
      });
    }
  });
});
