// The HTTP direct-response listener with curl: Envoy's headers, HEAD, route and virtual-host
// selection, 404 when nothing matches, the connection manager's Envoy stats, and its limits and
// timeouts with raw sockets (docs/envoy-host.md §16).

import assert from "node:assert/strict";
import type { Server } from "node:http";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import type { HttpConnectionManagerConfig } from "../../host/config/model.ts";
import { createDirectResponseListener } from "../../host/net/http/direct-response-listener.ts";
import { httpConnectionManagerStats } from "../../host/net/envoy-stats.ts";
import { closeServer, listen } from "../../host/net/listener/listen.ts";
import { createStatsStore } from "../../host/stats.ts";
import type { StatsStore } from "../../host/stats.ts";
import { NEEDS_CURL, curl, parseHttpResponse } from "../helpers/e2e-clients.ts";

const CONFIG: HttpConnectionManagerConfig = {
  kind: "http_connection_manager",
  filterName: "envoy.filters.network.http_connection_manager",
  statPrefix: "test",
  routes: [
    { domains: ["*"], path: "/exact", status: 201, body: "any host, exact path\n" },
    { domains: ["*"], prefix: "/", status: 200, body: "any host\n" },
    { domains: ["*.example.com"], prefix: "/", status: 200, body: "suffix wildcard\n" },
    { domains: ["api.example.com"], prefix: "/v1/", status: 200, body: "exact host\n" },
    { domains: ["api.example.com"], prefix: "/down", status: 503, body: "" },
  ],
  streamIdleTimeoutMs: 300_000,
  idleTimeoutMs: 3_600_000,
};

/** The listener on a free port, its stats kept in `stats`. */
async function serve(stats: StatsStore): Promise<{ server: Server; url: string }> {
  const server = createDirectResponseListener(CONFIG, httpConnectionManagerStats(stats, CONFIG.statPrefix)).server;
  return { server, url: `http://127.0.0.1:${await listen(server, "listener 'test'", "127.0.0.1", 0)}` };
}

function stop(server: Server): Promise<void> {
  const closed = closeServer(server);
  server.closeAllConnections();
  return closed;
}

describe("the direct-response listener", NEEDS_CURL, () => {
  let server: Server;
  let url: string;

  before(async () => {
    ({ server, url } = await serve(createStatsStore()));
  });
  after(() => stop(server));

  async function get(path: string, host?: string, ...extra: string[]) {
    const result = await curl(["-i", ...extra, ...(host === undefined ? [] : ["-H", `Host: ${host}`]), `${url}${path}`]);
    return parseHttpResponse(result.stdout);
  }

  test("answers with Envoy's headers", async () => {
    const response = await get("/anything");
    assert.equal(response.status, 200);
    assert.equal(response.body, "any host\n");
    assert.deepEqual([...response.headers.keys()], ["content-length", "content-type", "date", "server"]);
    assert.equal(response.headers.get("content-length"), "9");
    assert.equal(response.headers.get("server"), "envoy");
  });

  test("HEAD has the headers and no body", async () => {
    const response = await get("/", undefined, "--head");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-length"), "9");
    assert.equal(response.body, "");
  });

  test("a path route matches without the query string; routes are tried in order", async () => {
    assert.equal((await get("/exact?x=1")).status, 201);
    assert.equal((await get("/exact/more")).body, "any host\n");
  });

  test("the most specific domain wins: exact, then the longest suffix wildcard, then *", async () => {
    assert.equal((await get("/v1/users", "api.example.com")).body, "exact host\n");
    assert.equal((await get("/", "www.example.com")).body, "suffix wildcard\n");
    assert.equal((await get("/", "example.org")).body, "any host\n");
  });

  test("an empty body has no content-type", async () => {
    const response = await get("/down", "api.example.com");
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("content-length"), "0");
    assert.equal(response.headers.has("content-type"), false);
  });

  test("no matching route in the chosen virtual host: 404 with an empty body", async () => {
    const response = await get("/other", "api.example.com");
    assert.equal(response.status, 404);
    assert.equal(response.headers.get("content-length"), "0");
    assert.equal(response.body, "");
  });
});

describe("the HTTP connection manager's stats", () => {
  test("defined at 0; then a connection per connection, a request per request, each response in its class", NEEDS_CURL, async () => {
    const stats = createStatsStore();
    const { server, url } = await serve(stats);
    try {
      const zero = [1, 2, 3, 4, 5].map((digit) => `http.test.downstream_rq_${digit}xx: 0`);
      assert.equal(
        stats.renderText(),
        [
          "http.test.downstream_cx_idle_timeout: 0",
          "http.test.downstream_cx_total: 0",
          ...zero,
          "http.test.downstream_rq_idle_timeout: 0",
          "http.test.downstream_rq_total: 0",
          "",
        ].join("\n"),
      );
      // two requests on one connection, then 503 and 404 on one connection each
      assert.equal((await curl([`${url}/`, `${url}/exact`])).stdout, "any host\nany host, exact path\n");
      assert.equal((await curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: api.example.com", `${url}/down`])).stdout, "503");
      assert.equal((await curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: api.example.com", `${url}/other`])).stdout, "404");
      assert.equal(
        stats.renderText(),
        [
          "http.test.downstream_cx_idle_timeout: 0",
          "http.test.downstream_cx_total: 3",
          "http.test.downstream_rq_1xx: 0",
          "http.test.downstream_rq_2xx: 2",
          "http.test.downstream_rq_3xx: 0",
          "http.test.downstream_rq_4xx: 1",
          "http.test.downstream_rq_5xx: 1",
          "http.test.downstream_rq_idle_timeout: 0",
          "http.test.downstream_rq_total: 4",
          "",
        ].join("\n"),
      );
    } finally {
      await stop(server);
    }
  });
});

/** Send `text` without half-closing; resolve with what came back once the server closed, and when. */
function rawUntilClosed(url: string, text: string): Promise<{ reply: string; ms: number }> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let reply = "";
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => (reply += chunk.toString("latin1")));
    socket.on("close", () => resolve({ reply, ms: performance.now() - started }));
    if (text !== "") socket.write(text);
  });
}

/** A local reply as Envoy writes it on HTTP/1, with its date left out. */
function localReply(status: string, body: string): string {
  return `HTTP/1.1 ${status}\r\ncontent-length: ${body.length}\r\ncontent-type: text/plain\r\ndate: DATE\r\nserver: envoy\r\nconnection: close\r\n\r\n${body}`;
}

function withoutDate(reply: string): string {
  return reply.replace(/\r\ndate: [^\r]+\r\n/, "\r\ndate: DATE\r\n");
}

/** The listener with these timeouts on a free port; its stats and a way to read one. */
async function serveWith(timeouts: Partial<Pick<HttpConnectionManagerConfig, "streamIdleTimeoutMs" | "idleTimeoutMs">>) {
  const stats = createStatsStore();
  const server = createDirectResponseListener({ ...CONFIG, ...timeouts }, httpConnectionManagerStats(stats, CONFIG.statPrefix)).server;
  const url = `http://127.0.0.1:${await listen(server, "listener 'test'", "127.0.0.1", 0)}`;
  const stat = (name: string) => Number(stats.get(`http.test.${name}`));
  return { server, url, stat };
}

describe("the HTTP connection manager's limits and timeouts, as Envoy's", () => {
  test("no request headers timeout and no whole-request timeout (node's own are off)", () => {
    const server = createDirectResponseListener(CONFIG, httpConnectionManagerStats(createStatsStore(), CONFIG.statPrefix)).server;
    assert.equal(server.headersTimeout, 0);
    assert.equal(server.requestTimeout, 0);
  });

  test("stream_idle_timeout: a request head that stops coming gets Envoy's 408, counted", async () => {
    const { server, url, stat } = await serveWith({ streamIdleTimeoutMs: 200 });
    try {
      const { reply, ms } = await rawUntilClosed(url, "GET / HTTP/1.1\r\nHost: slow");
      assert.equal(withoutDate(reply), localReply("408 Request Timeout", "stream timeout"));
      // Not before the timeout; how long after it depends on the machine's load, and the counters
      // below say which timer closed it.
      assert.ok(ms >= 190, `answered after ${ms} ms`);
      assert.deepEqual(
        ["downstream_rq_total", "downstream_rq_4xx", "downstream_rq_idle_timeout", "downstream_cx_idle_timeout"].map(stat),
        [1, 1, 1, 0],
      );
    } finally {
      await stop(server);
    }
  });

  test("idle_timeout: a connection that never sends a byte is closed without a reply, counted", async () => {
    const { server, url, stat } = await serveWith({ streamIdleTimeoutMs: 100, idleTimeoutMs: 300 });
    try {
      const { reply, ms } = await rawUntilClosed(url, "");
      assert.equal(reply, "");
      // Not before the timeout (the counters say which timer closed it); no upper bound: load delays timers.
      assert.ok(ms >= 290, `closed after ${ms} ms`);
      assert.deepEqual(["downstream_rq_total", "downstream_cx_idle_timeout", "downstream_rq_idle_timeout"].map(stat), [0, 1, 0]);
    } finally {
      await stop(server);
    }
  });

  test("headers: 60 KiB of names and values pass, one byte more is Envoy's 431, counted", async () => {
    const { server, url, stat } = await serveWith({});
    try {
      // "Host" + "x" = 5 bytes, "X-Big" = 5 bytes
      const head = (valueBytes: number) => `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"v".repeat(valueBytes)}\r\n\r\n`;
      const atLimit = await rawUntilClosed(url, head(60 * 1024 - 10) + "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      assert.match(atLimit.reply, /^HTTP\/1\.1 200 OK\r\n/);
      const over = await rawUntilClosed(url, head(60 * 1024 - 9));
      assert.equal(withoutDate(over.reply), localReply("431 Request Header Fields Too Large", "Request Header Fields Too Large"));
      const farOver = await rawUntilClosed(url, head(100 * 1024));
      assert.equal(withoutDate(farOver.reply), localReply("431 Request Header Fields Too Large", "Request Header Fields Too Large"));
      const many = Array.from({ length: 100 }, (_, i) => `X-${i}: v\r\n`).join("");
      const tooMany = await rawUntilClosed(url, `GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
      assert.match(tooMany.reply, /^HTTP\/1\.1 431 /);
      assert.deepEqual(["downstream_rq_total", "downstream_rq_2xx", "downstream_rq_4xx"].map(stat), [5, 2, 3]);
    } finally {
      await stop(server);
    }
  });

  test("a malformed request is Envoy's 400, counted", async () => {
    const { server, url, stat } = await serveWith({});
    try {
      const { reply } = await rawUntilClosed(url, "NOT HTTP AT ALL\r\n\r\n");
      assert.equal(withoutDate(reply), localReply("400 Bad Request", "Bad Request"));
      assert.deepEqual(["downstream_cx_total", "downstream_rq_total", "downstream_rq_4xx"].map(stat), [1, 1, 1]);
    } finally {
      await stop(server);
    }
  });
});
