// The HTTP direct-response listener with curl: Envoy's headers, HEAD, route and virtual-host
// selection, 404 when nothing matches, and the connection manager's Envoy stats.

import assert from "node:assert/strict";
import type { Server } from "node:http";
import { after, before, describe, test } from "node:test";
import type { HttpConnectionManagerConfig } from "../../host/config/model.ts";
import { createDirectResponseServer } from "../../host/net/direct-response-listener.ts";
import { HttpConnectionManagerStats } from "../../host/net/envoy-stats.ts";
import { closeServer, listen } from "../../host/net/listen.ts";
import { createStatsStore } from "../../host/stats.ts";
import type { StatsStore } from "../../host/wasm/api.ts";
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
};

/** The listener on a free port, its stats kept in `stats`. */
async function serve(stats: StatsStore): Promise<{ server: Server; url: string }> {
  const server = createDirectResponseServer(CONFIG, new HttpConnectionManagerStats(stats, CONFIG.statPrefix));
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
      assert.equal(stats.renderText(), ["http.test.downstream_cx_total: 0", ...zero, "http.test.downstream_rq_total: 0", ""].join("\n"));
      // two requests on one connection, then 503 and 404 on one connection each
      assert.equal((await curl([`${url}/`, `${url}/exact`])).stdout, "any host\nany host, exact path\n");
      assert.equal((await curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: api.example.com", `${url}/down`])).stdout, "503");
      assert.equal((await curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: api.example.com", `${url}/other`])).stdout, "404");
      assert.equal(
        stats.renderText(),
        [
          "http.test.downstream_cx_total: 3",
          "http.test.downstream_rq_1xx: 0",
          "http.test.downstream_rq_2xx: 2",
          "http.test.downstream_rq_3xx: 0",
          "http.test.downstream_rq_4xx: 1",
          "http.test.downstream_rq_5xx: 1",
          "http.test.downstream_rq_total: 4",
          "",
        ].join("\n"),
      );
    } finally {
      await stop(server);
    }
  });
});
