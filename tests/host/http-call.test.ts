// docs/envoy-host.md §19: proxy_http_call and proxy_on_http_call_response, as Envoy 1.39.0's
// source/extensions/common/wasm/context.cc (`Context::httpCall`, `onHttpCallSuccess`,
// `onHttpCallFailure`, `getConstMap`, `getBuffer`, `~Context`) and proxy-wasm-cpp-host's
// src/exports.cc (`http_call`) do it. Every call here answered Unimplemented before.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { basename, dirname, join } from "node:path";
import { test } from "node:test";
import { ClusterHttpClient } from "../../host/net/http/async-client.ts";
import { UpstreamCluster } from "../../host/net/tcp-proxy/cluster.ts";
import { createStatsStore } from "../../host/stats.ts";
import { ScriptedHttpCalls, type HttpHeader, type ScriptedAnswer } from "../../host/testing/index.ts";
import { encodePairs } from "../../host/wasm/pairs.ts";
import type { Meaning, TraceEvent } from "../../host/wasm/api.ts";
import { startTestHost, wasmMessages } from "../helpers/e2e.ts";
import { freePorts } from "../helpers/free-ports.ts";
import { pluginModule, writeWat } from "../helpers/wat.ts";
import { enter, host, startTestPlugin, traced } from "../helpers/wat-filters.ts";

const REQUEST: HttpHeader[] = [
  [":method", "GET"],
  [":path", "/check"],
  [":authority", "auth.local"],
  ["x-id", "7"],
];

/** Bytes as a WAT data string. */
function watBytes(bytes: Uint8Array): string {
  return [...bytes].map((byte) => "\\" + byte.toString(16).padStart(2, "0")).join("");
}

function pairs(headers: readonly HttpHeader[]): Uint8Array {
  return encodePairs(headers.map(([name, value]) => [Buffer.from(name), Buffer.from(value)]));
}

interface CallerOptions {
  cluster?: string;
  headers?: readonly HttpHeader[];
  timeoutMs?: number;
  /** the callback that calls out: a connection's new connection (default), or the root's vm start */
  from?: "proxy_on_new_connection" | "proxy_on_vm_start";
}

/**
 * Calls out from `from` with body "ping"; in proxy_on_http_call_response logs what it reads:
 * `:status`, the body, the headers as pairs, the trailer `x-t`, the status message; in
 * proxy_on_downstream_data reads the same again (after the callback).
 */
function caller(options: CallerOptions = {}): string {
  const cluster = Buffer.from(options.cluster ?? "auth");
  const headers = pairs(options.headers ?? REQUEST);
  const from = options.from ?? "proxy_on_new_connection";
  const call = `(drop (call $http_call (i32.const 100) (i32.const ${cluster.length}) (i32.const 200) (i32.const ${headers.length})
      (i32.const 600) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const ${options.timeoutMs ?? 0}) (i32.const 808)))`;
  return pluginModule(
    `
    (data (i32.const 100) "${watBytes(cluster)}")
    (data (i32.const 200) "${watBytes(headers)}")
    (data (i32.const 600) "ping")
    (data (i32.const 900) ":status")
    (data (i32.const 910) "x-t")
    (func $log_out (drop (call $log (i32.const 2) (i32.load (i32.const 800)) (i32.load (i32.const 804)))))
    (func $read_response
      (if (i32.eqz (call $get_map_value (i32.const 6) (i32.const 900) (i32.const 7) (i32.const 800) (i32.const 804))) (then (call $log_out)))
      (if (i32.eqz (call $get_buffer_bytes (i32.const 4) (i32.const 0) (i32.const 1000) (i32.const 800) (i32.const 804))) (then (call $log_out)))
      (if (i32.eqz (call $get_map_pairs (i32.const 6) (i32.const 800) (i32.const 804))) (then (call $log_out)))
      (if (i32.eqz (call $get_map_value (i32.const 7) (i32.const 910) (i32.const 3) (i32.const 800) (i32.const 804))) (then (call $log_out)))
      (drop (call $get_map_size (i32.const 6) (i32.const 812)))
      (drop (call $get_status (i32.const 816) (i32.const 800) (i32.const 804)))
      (call $log_out))
    ${
      from === "proxy_on_vm_start"
        ? `(func (export "proxy_on_vm_start") (param i32 i32) (result i32) ${call} (i32.const 1))`
        : `(func (export "proxy_on_new_connection") (param i32) (result i32) ${call} (i32.const 0))`
    }
    (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32) (call $read_response))
    (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32) (call $read_response) (i32.const 0))`,
    {
      imports: `
      (import "env" "proxy_http_call" (func $http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "env" "proxy_get_header_map_value" (func $get_map_value (param i32 i32 i32 i32 i32) (result i32)))
      (import "env" "proxy_get_header_map_pairs" (func $get_map_pairs (param i32 i32 i32) (result i32)))
      (import "env" "proxy_get_header_map_size" (func $get_map_size (param i32 i32) (result i32)))
      (import "env" "proxy_get_status" (func $get_status (param i32 i32 i32) (result i32)))`,
    },
  );
}

/** Resolves once `condition` holds, checked at each turn of the event loop: waits for the event itself. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

function answered(trace: readonly TraceEvent[]): boolean {
  return trace.some((event) => event.kind === "enter" && event.name === "proxy_on_http_call_response");
}

/** The events from the callback's entry on, without leaves. */
function fromCallback(trace: readonly TraceEvent[]) {
  const all = traced(trace).filter((event) => event.kind !== "leave");
  return all.slice(all.findIndex((event) => event.kind === "enter" && event.name === "proxy_on_http_call_response"));
}

/** A callback that never comes fails the test instead of hanging it (never reached when the host works). */
const BOUNDED = { timeout: 60_000 };

const REQUEST_PAIRS_SIZE = pairs(REQUEST).length;

/** The module logged at info the bytes at ptr. */
function logged(ptr: number, size: number) {
  return host("proxy_log", [2, ptr, size], "Ok", { level: "info", printed: true });
}

/** Memory words as the trace shows them, for the calls the caller makes when it reads. */
const READS = {
  status: (result: string, meaning = { map: "HttpCallResponseHeaders", key: ":status" }) =>
    host("proxy_get_header_map_value", [6, 900, 7, 800, 804], result, meaning),
  body: (result: string, meaning: Meaning) => host("proxy_get_buffer_bytes", [4, 0, 1000, 800, 804], result, meaning),
  pairs: (result: string) => host("proxy_get_header_map_pairs", [6, 800, 804], result, { map: "HttpCallResponseHeaders" }),
  trailer: (result: string) => host("proxy_get_header_map_value", [7, 910, 3, 800, 804], result, { map: "HttpCallResponseTrailers", key: "x-t" }),
  size: host("proxy_get_header_map_size", [6, 812], "BadArgument"),
  getStatus: host("proxy_get_status", [816, 800, 804], "Ok"),
};

function scripted(answer: ScriptedAnswer, clusters = ["auth"]): ScriptedHttpCalls {
  return new ScriptedHttpCalls(clusters, () => answer);
}

test("a connection's call goes to the root context's callback, with the token written back; the response is readable in the callback only", BOUNDED, async () => {
  const calls = scripted({ status: 200, headers: [["x-reply", "yes"]], body: "pong!", trailers: [["x-t", "tv"]] });
  const { plugin, trace } = startTestPlugin(caller(), { httpCalls: calls });
  trace.length = 0;
  const connection = plugin.connect();
  // cpp-host `http_call`: made on root_context(); the token of an HTTP call is the VM's next multiple of 4
  assert.deepEqual(
    traced(trace).find((event) => event.kind === "host" && event.name === "proxy_http_call"),
    host("proxy_http_call", [100, 4, 200, REQUEST_PAIRS_SIZE, 600, 4, 0, 0, 0, 808], "Ok", { cluster: "auth", bodyBytes: 4, timeoutMs: 0, token: 4 }),
  );
  assert.deepEqual(calls.requests, [{ cluster: "auth", headers: REQUEST, body: new Uint8Array(Buffer.from("ping")), trailers: [], timeoutMs: 0 }]);
  await until(() => answered(trace));
  const headers: HttpHeader[] = [[":status", "200"], ["x-reply", "yes"]];
  // Envoy `ContextBase::onHttpCallResponse(token, headers size, body size, trailers size)` on the
  // root context (id 1), whose http_call_response_ `getConstMap`/`getBuffer` read
  assert.deepEqual(fromCallback(trace), [
    enter("proxy_on_http_call_response", [1, 4, 2, 5, 1], { token: 4, headers: 2, bodyBytes: 5, trailers: 1 }),
    READS.status("Ok"),
    logged(4096, 3),
    READS.body("Ok", { buffer: "HttpCallResponseBody", start: 0, bytes: 5 }),
    logged(4099, 5),
    READS.pairs("Ok"),
    logged(4104, pairs(headers).length),
    READS.trailer("Ok"),
    logged(4104 + pairs(headers).length, 2),
    // `getHeaderMapSize` goes through getMap, which has no call-response maps
    READS.size,
    READS.getStatus,
    logged(0, 0),
  ]);
  assert.deepEqual(plugin.messages().slice(0, 4), ["info 200", "info pong!", `info ${Buffer.from(pairs(headers)).toString()}`, "info tv"]);
  // after the callback: no response (value BadArgument, body NotFound, pairs empty)
  trace.length = 0;
  connection.downstream("x");
  assert.deepEqual(traced(trace).filter((event) => event.kind === "host").slice(0, 5), [
    READS.status("BadArgument"),
    READS.body("NotFound", { buffer: "HttpCallResponseBody" }),
    READS.pairs("Ok"),
    logged(0, 0),
    READS.trailer("BadArgument"),
  ]);
  plugin.close();
});

test("a root context's call from proxy_on_vm_start is answered on that VM's root context", BOUNDED, async () => {
  const calls = scripted({ status: 204 });
  const { plugin, trace } = startTestPlugin(caller({ from: "proxy_on_vm_start" }), { httpCalls: calls });
  // the canary, main-thread and worker VMs each start their root context, and each calls out
  assert.equal(calls.requests.length, 3);
  await until(() => trace.filter((event) => event.kind === "enter" && event.name === "proxy_on_http_call_response").length === 3);
  const responses = traced(trace).filter((event) => event.kind === "enter" && event.name === "proxy_on_http_call_response");
  assert.deepEqual(responses, Array(3).fill(enter("proxy_on_http_call_response", [1, 4, 1, 0, 0], { token: 4, headers: 1, bodyBytes: 0, trailers: 0 })));
  plugin.close();
});

test("an unknown cluster is BadArgument at dispatch, the token written 0, nothing sent", BOUNDED, () => {
  const calls = scripted({ status: 200 }, ["other"]);
  const { plugin, trace } = startTestPlugin(caller(), { httpCalls: calls });
  trace.length = 0;
  plugin.connect();
  assert.deepEqual(
    traced(trace).find((event) => event.kind === "host" && event.name === "proxy_http_call"),
    host("proxy_http_call", [100, 4, 200, REQUEST_PAIRS_SIZE, 600, 4, 0, 0, 0, 808], "BadArgument", { cluster: "auth", bodyBytes: 4, timeoutMs: 0 }),
  );
  assert.deepEqual(calls.requests, []);
  plugin.close();
});

test("a request without :method, :path or :authority is BadArgument at dispatch; so is a negative timeout", BOUNDED, () => {
  for (const missing of [":method", ":path", ":authority"]) {
    const calls = scripted({ status: 200 });
    const headers = REQUEST.filter(([name]) => name !== missing);
    const { plugin, trace } = startTestPlugin(caller({ headers }), { httpCalls: calls });
    plugin.connect();
    const call = traced(trace).find((event) => event.kind === "host" && event.name === "proxy_http_call");
    assert.equal(call?.kind === "host" && call.result, "BadArgument", missing);
    assert.deepEqual(calls.requests, [], missing);
    plugin.close();
  }
  const calls = scripted({ status: 200 });
  const { plugin, trace } = startTestPlugin(caller({ timeoutMs: -1 }), { httpCalls: calls });
  plugin.connect();
  const call = traced(trace).find((event) => event.kind === "host" && event.name === "proxy_http_call");
  assert.equal(call?.kind === "host" && call.result, "BadArgument");
  plugin.close();
});

test("a reset is onFailure: the callback with 0 headers, 0 bytes, 0 trailers, and proxy_get_status BrokenConnection \"reset\"", BOUNDED, async () => {
  const { plugin, trace } = startTestPlugin(caller(), { httpCalls: scripted({ reset: true }) });
  plugin.connect();
  await until(() => answered(trace));
  assert.deepEqual(fromCallback(trace), [
    enter("proxy_on_http_call_response", [1, 4, 0, 0, 0], { token: 4, headers: 0, bodyBytes: 0, trailers: 0 }),
    READS.status("BadArgument"),
    READS.body("NotFound", { buffer: "HttpCallResponseBody" }),
    READS.pairs("Ok"),
    logged(0, 0),
    READS.trailer("BadArgument"),
    READS.size,
    READS.getStatus,
    logged(4096, 5),
  ]);
  assert.deepEqual(plugin.messages(), ["info ", "info reset"]);
  plugin.close();
});

test("the connection closing first cancels nothing: the call is the root context's, and its answer still comes", BOUNDED, async () => {
  const { plugin, trace } = startTestPlugin(caller(), { httpCalls: scripted({ status: 200, delayMs: 1 }) });
  const connection = plugin.connect();
  connection.close("remote");
  await until(() => answered(trace));
  assert.deepEqual(fromCallback(trace)[0], enter("proxy_on_http_call_response", [1, 4, 1, 0, 0], { token: 4, headers: 1, bodyBytes: 0, trailers: 0 }));
  plugin.close();
});

test("the plugin's shutdown cancels the calls still under way: no callback after proxy_on_delete", BOUNDED, async () => {
  const never = scripted(null);
  const { plugin, trace } = startTestPlugin(caller(), { httpCalls: never });
  plugin.connect();
  plugin.close();
  assert.equal(never.cancelled, 1);

  const soon = scripted({ status: 200 });
  const second = startTestPlugin(caller(), { httpCalls: soon });
  second.plugin.connect();
  second.plugin.close();
  // the scripted answer was due at the next timer turn: wait past it
  await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(soon.cancelled, 1);
  assert.equal(answered(second.trace), false);
  assert.equal(answered(trace), false);
});

// ---------------------------------------------------------------- the network side, through sockets

/** An HTTP server on a free port of 127.0.0.1, handling each request with `handle`. */
async function server(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ port: number; server: Server }> {
  const http = createServer(handle);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return { port: (http.address() as { port: number }).port, server: http };
}

function clusterClient(port: number): ClusterHttpClient {
  const cluster = new UpstreamCluster(
    { name: "auth", type: "STATIC", lbPolicy: "ROUND_ROBIN", connectTimeoutMs: 1000, endpoints: [{ address: { address: "127.0.0.1", port }, metadata: { filterMetadata: {} } }], metadata: { filterMetadata: {} } },
    createStatsStore(),
  );
  return new ClusterHttpClient((name) => (name === "auth" ? cluster : undefined));
}

/** The callback's counts and what the module logged in it (`:status`, the body). */
async function callThrough(client: ClusterHttpClient, options: CallerOptions = {}) {
  const { plugin, trace } = startTestPlugin(caller(options), { httpCalls: client });
  plugin.connect();
  await until(() => answered(trace));
  const entry = fromCallback(trace)[0];
  plugin.close();
  return { args: entry.kind === "enter" ? entry.args : [], messages: plugin.messages().slice(0, 2) };
}

test("the request goes over HTTP/1.1 with its request line, Host, headers and body; the answer is the upstream's", BOUNDED, async () => {
  let seen = "";
  const upstream = await server((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      seen = `${request.method} ${request.url} HTTP/${request.httpVersion} host=${request.headers.host} x-id=${request.headers["x-id"]} body=${Buffer.concat(chunks)}`;
      response.writeHead(201, { "x-reply": "yes" }).end("pong!");
    });
  });
  const { args, messages } = await callThrough(clusterClient(upstream.port));
  upstream.server.close();
  assert.equal(seen, "GET /check HTTP/1.1 host=auth.local x-id=7 body=ping");
  // :status, x-reply, and the date, connection and content-length node writes
  assert.deepEqual(args, [1, 4, 5, 5, 0]);
  assert.deepEqual(messages, ["info 201", "info pong!"]);
});

test("an upstream that cannot be reached is the router's 503 local reply, as a response", BOUNDED, async () => {
  const [port] = await freePorts(1);
  const { args, messages } = await callThrough(clusterClient(port));
  const body = "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure";
  assert.deepEqual(args, [1, 4, 3, body.length, 0]);
  assert.deepEqual(messages, ["info 503", `info ${body}`]);
});

test("the timeout before any response is the router's 504 \"upstream request timeout\", as a response", BOUNDED, async () => {
  const held: ServerResponse[] = [];
  const upstream = await server((_request, response) => held.push(response));
  const { args, messages } = await callThrough(clusterClient(upstream.port), { timeoutMs: 20 });
  upstream.server.closeAllConnections();
  upstream.server.close();
  assert.deepEqual(args, [1, 4, 3, 24, 0]);
  assert.deepEqual(messages, ["info 504", "info upstream request timeout"]);
});

test("a response broken off after it began is onFailure (a reset): 0, 0, 0", BOUNDED, async () => {
  const upstream = await server((_request, response) => {
    response.writeHead(200, { "content-length": "100" });
    response.write("part", () => response.socket?.destroy());
  });
  const { args } = await callThrough(clusterClient(upstream.port));
  upstream.server.close();
  assert.deepEqual(args, [1, 4, 0, 0, 0]);
});

// ---------------------------------------------------------------- end to end: the local host

/** A listener whose wasm filter calls cluster `auth` at each new connection; `auth` is the test's HTTP server. */
function hostConfig(wasmFile: string, authPort: number): string {
  return `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
    - name: main
      address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.wasm
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm
                config:
                  name: caller
                  root_id: caller
                  vm_config:
                    runtime: envoy.wasm.runtime.v8
                    code: { local: { filename: /etc/envoy/plugin/${wasmFile} } }
            - name: envoy.filters.network.tcp_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: main_tcp
                cluster: auth
  clusters:
    - name: auth
      type: STATIC
      lb_policy: ROUND_ROBIN
      connect_timeout: 0.25s
      load_assignment:
        cluster_name: auth
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${authPort} } } }
`;
}

test("end to end: envoy.yaml's cluster, a node HTTP server on a free port, the answer in the filter's callback", BOUNDED, async () => {
  const requests: string[] = [];
  const upstream = await server((request, response) => {
    requests.push(`${request.method} ${request.url} host=${request.headers.host}`);
    response.writeHead(200).end("allowed");
  });
  const wasm = writeWat(caller());
  const configPath = join(dirname(wasm), `http-call-${upstream.port}.yaml`);
  writeFileSync(configPath, hostConfig(basename(wasm), upstream.port));
  const { host: running, logs } = await startTestHost({ configPath, pluginFolder: dirname(wasm), listenerPorts: { main: 0 } });
  try {
    const client = connect(running.listenerPorts.main, "127.0.0.1");
    await until(() => wasmMessages(logs).length >= 2);
    client.destroy();
    assert.deepEqual(requests, ["GET /check host=auth.local"]);
    assert.deepEqual(wasmMessages(logs).slice(0, 2), ["wasm log caller: 200", "wasm log caller: allowed"]);
  } finally {
    await running.close();
    upstream.server.closeAllConnections();
    upstream.server.close();
  }
});

test("end to end: a call from proxy_on_vm_start, before the listeners are bound, finds envoy.yaml's cluster", BOUNDED, async () => {
  const requests: string[] = [];
  const upstream = await server((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    response.writeHead(200).end("up");
  });
  const wasm = writeWat(caller({ from: "proxy_on_vm_start" }));
  const configPath = join(dirname(wasm), `http-call-start-${upstream.port}.yaml`);
  writeFileSync(configPath, hostConfig(basename(wasm), upstream.port));
  const { host: running, logs } = await startTestHost({ configPath, pluginFolder: dirname(wasm), listenerPorts: { main: 0 } });
  try {
    // the canary, main-thread and worker VMs each call out from their root context's start
    await until(() => wasmMessages(logs).filter((line) => line === "wasm log caller: 200").length === 3);
    assert.deepEqual(requests, ["GET /check", "GET /check", "GET /check"]);
  } finally {
    await running.close();
    upstream.server.closeAllConnections();
    upstream.server.close();
  }
});
