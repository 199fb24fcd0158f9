// The HTTP direct-response listener with curl: Envoy's headers, HEAD, route and virtual-host
// selection, 404 when nothing matches.

import assert from "node:assert/strict";
import type { Server } from "node:http";
import { after, before, describe, test } from "node:test";
import type { HttpConnectionManagerConfig } from "../../host/config/model.ts";
import { createDirectResponseServer } from "../../host/net/direct-response-listener.ts";
import { closeServer, listen } from "../../host/net/listen.ts";
import { curl, parseHttpResponse } from "../helpers/e2e-clients.ts";

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

describe("the direct-response listener", () => {
  let server: Server;
  let url: string;

  before(async () => {
    server = createDirectResponseServer(CONFIG);
    url = `http://127.0.0.1:${await listen(server, "listener 'test'", "127.0.0.1", 0)}`;
  });
  after(() => {
    const closed = closeServer(server);
    server.closeAllConnections();
    return closed;
  });

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
