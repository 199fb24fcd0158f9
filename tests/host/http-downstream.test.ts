// docs/envoy-host.md §16: when the HTTP connection manager's timers run, with node:test's mock
// timers over real sockets, so that no assertion depends on the machine's speed. Envoy arms the
// stream idle timer with the whole stream_idle_timeout when a request's first byte creates the
// stream, and again at each of the stream's events (the head whole, a piece of body, the
// response); bytes of an unfinished head are no event. The connection's idle_timeout runs from
// the end of its last stream.

import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import type { HttpConnectionManagerConfig } from "../../host/config/model.ts";
import { createDirectResponseListener, type DirectResponseListener } from "../../host/net/http/direct-response-listener.ts";
import { httpConnectionManagerStats } from "../../host/net/envoy-stats.ts";
import { closeServer, listen } from "../../host/net/listener/listen.ts";
import { createStatsStore } from "../../host/stats.ts";

const STREAM_IDLE_MS = 2000;
const IDLE_MS = 5000;

const CONFIG: HttpConnectionManagerConfig = {
  kind: "http_connection_manager",
  filterName: "envoy.filters.network.http_connection_manager",
  statPrefix: "test",
  routes: [{ domains: ["*"], prefix: "/", status: 200, body: "ok\n" }],
  streamIdleTimeoutMs: STREAM_IDLE_MS,
  idleTimeoutMs: IDLE_MS,
};

/** Turn the event loop until `done()` holds (real I/O goes on; only setTimeout is mocked). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}

describe("the direct-response listener's timers, as Envoy arms them", () => {
  let listener: DirectResponseListener;
  let stat: (name: string) => number;
  let client: Socket;
  /** the server's side of the client's connection */
  let accepted: Socket | undefined;
  /** what the client has received */
  let received: string;
  let clientClosed: boolean;

  beforeEach(async () => {
    const stats = createStatsStore();
    stat = (name) => Number(stats.get(`http.test.${name}`));
    listener = createDirectResponseListener(CONFIG, httpConnectionManagerStats(stats, CONFIG.statPrefix));
    accepted = undefined;
    listener.server.on("connection", (socket: Socket) => (accepted = socket));
    const port = await listen(listener.server, "listener 'test'", "127.0.0.1", 0);
    mock.timers.enable({ apis: ["setTimeout"] });
    received = "";
    clientClosed = false;
    client = connect({ host: "127.0.0.1", port });
    client.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    client.on("error", () => {});
    client.on("close", () => (clientClosed = true));
    await until(() => accepted !== undefined);
  });

  afterEach(async () => {
    mock.timers.reset();
    client.destroy();
    const closed = closeServer(listener.server);
    listener.endConnections();
    await closed;
  });

  /** Send bytes and wait until the server has read them all. */
  async function send(bytes: string): Promise<void> {
    const before = accepted!.bytesRead;
    client.write(bytes);
    await until(() => accepted!.bytesRead === before + bytes.length);
  }

  /**
   * The next request, and its request's end and its response's finish as the test's own listeners
   * see them: after the listener's, and attached before either can happen.
   */
  function nextRequest(): Promise<{ request: IncomingMessage; ended: Promise<void>; finished: Promise<void> }> {
    return new Promise((resolve) =>
      listener.server.once("request", (request: IncomingMessage, response: ServerResponse) => {
        const ended = new Promise<void>((done) => request.once("end", done));
        const finished = new Promise<void>((done) => response.once("finish", done));
        resolve({ request, ended, finished });
      }),
    );
  }

  test("from a request's first byte, exactly stream_idle_timeout; more bytes of an unfinished head do not restart it: 408", async () => {
    client.write("GET / HT");
    await until(() => stat("downstream_rq_total") === 1);
    mock.timers.tick(STREAM_IDLE_MS / 2);
    await send("TP/1.1\r\nHost: slow\r\n");
    mock.timers.tick(STREAM_IDLE_MS / 2 - 1);
    assert.equal(stat("downstream_rq_idle_timeout"), 0);
    mock.timers.tick(1);
    assert.equal(stat("downstream_rq_idle_timeout"), 1);
    await until(() => clientClosed);
    assert.match(received, /^HTTP\/1\.1 408 Request Timeout\r\n[^]*\r\n\r\nstream timeout$/);
    assert.deepEqual(["downstream_rq_total", "downstream_rq_4xx", "downstream_cx_idle_timeout"].map(stat), [1, 1, 0]);
  });

  test("armed again with the whole duration at the head and at each piece of body; when it fires after the response, the stream is reset", async () => {
    const requested = nextRequest();
    client.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n");
    const { request, finished } = await requested;
    mock.timers.tick(STREAM_IDLE_MS - 1);
    assert.equal(stat("downstream_rq_idle_timeout"), 0);
    const piece = new Promise((resolve) => request.once("data", resolve));
    client.write("12345");
    await Promise.all([piece, finished]);
    mock.timers.tick(STREAM_IDLE_MS - 1);
    assert.equal(stat("downstream_rq_idle_timeout"), 0);
    mock.timers.tick(1);
    assert.equal(stat("downstream_rq_idle_timeout"), 1);
    await until(() => clientClosed);
    assert.match(received, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok\n$/);
    assert.deepEqual(["downstream_rq_total", "downstream_rq_2xx", "downstream_cx_idle_timeout"].map(stat), [1, 1, 0]);
  });

  test("idle_timeout from the end of the last stream, exactly; no stream timer after it", async () => {
    mock.timers.tick(IDLE_MS - 1);
    const requested = nextRequest();
    client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const { ended, finished } = await requested;
    await Promise.all([ended, finished]);
    mock.timers.tick(IDLE_MS - 1);
    assert.deepEqual(["downstream_cx_idle_timeout", "downstream_rq_idle_timeout"].map(stat), [0, 0]);
    mock.timers.tick(1);
    assert.deepEqual(["downstream_cx_idle_timeout", "downstream_rq_idle_timeout"].map(stat), [1, 0]);
    await until(() => clientClosed);
    assert.match(received, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok\n$/);
  });

  test("endConnections resets a kept-alive connection and clears its timers", async () => {
    const requested = nextRequest();
    client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await requested;
    await until(() => received.endsWith("ok\n"));
    listener.endConnections();
    await until(() => clientClosed);
    mock.timers.tick(IDLE_MS);
    assert.deepEqual(["downstream_cx_idle_timeout", "downstream_rq_idle_timeout"].map(stat), [0, 0]);
  });
});
