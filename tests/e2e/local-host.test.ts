// The local host end to end, in-process, on free ports: envoy/envoy.yaml, the release
// build/main.wasm, real sockets and the real curl. What a user sees: the direct response through
// the wasm filter and tcp_proxy, the plugin's log lines, the counter in admin, clean shutdown.

import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { NEEDS_CURL, curl, exchange, parseHttpResponse, postRequest } from "../helpers/e2e-clients.ts";
import { startTestHost, statLine, wasmMessages, type TestHost } from "../helpers/e2e.ts";

const PREFIX = "wasm log tcp_connection_logger tcp_connection_logger tcp_connection_logger: ";

async function admin(testHost: TestHost, path: string, method = "GET") {
  const response = await fetch(`http://127.0.0.1:${testHost.host.adminPort}${path}`, { method });
  return { status: response.status, contentType: response.headers.get("content-type"), body: await response.text() };
}

async function connectionCounter(testHost: TestHost): Promise<string | undefined> {
  const prometheus = (await admin(testHost, "/stats/prometheus")).body;
  return prometheus.split("\n").find((line) => line.startsWith("connection_counter"));
}

/** Wait until every connection has ended in the host and in the plugin. */
async function settled(testHost: TestHost): Promise<void> {
  await testHost.host.whenIdle();
  assert.equal(testHost.host.openConnections, 0);
  assert.equal(testHost.host.plugins[0].activeConnections, 0);
}

describe("the local host with envoy/envoy.yaml and build/main.wasm", NEEDS_CURL, () => {
  let testHost: TestHost;

  before(async () => {
    testHost = await startTestHost();
  });
  after(() => testHost.host.close());

  test("curl --data '[initial body]' gets 200 'example body' through the wasm filter and tcp_proxy", async () => {
    const result = await curl(["-i", "-A", "e2e", `localhost:${testHost.mainPort}`, "--data", "[initial body]"]);
    const response = parseHttpResponse(result.stdout);
    assert.equal(response.status, 200);
    assert.equal(response.body, "example body\n");
    assert.equal(response.headers.get("server"), "envoy");
    assert.equal(response.headers.get("content-type"), "text/plain");
    assert.equal(response.headers.get("content-length"), "13");
    await settled(testHost);
  });

  test("the plugin logged the request as one escaped lump and the cluster's location metadata", () => {
    const request =
      `POST / HTTP/1.1\r\nHost: localhost:${testHost.mainPort}\r\nUser-Agent: e2e\r\nAccept: */*\r\n` +
      `Content-Length: 14\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n[initial body]`;
    const escaped = request.replaceAll("\r", "\\r").replaceAll("\n", "\\n");
    const messages = wasmMessages(testHost.logs);
    assert.ok(messages.includes(`${PREFIX}connection 2: downstream data: ${request.length} bytes: ${escaped}`), messages.join("\n"));
    assert.ok(messages.includes(`${PREFIX}connection 2: upstream cluster metadata location.az: ap-northeast-1a`));
    assert.ok(messages.includes(`${PREFIX}connection 2: upstream cluster metadata location.region: ap-northeast-1`));
    assert.ok(messages.includes(`${PREFIX}connection 2: downstream connection closed (peer: local)`));
  });

  test("curl --head gets 200", async () => {
    const result = await curl(["--head", `localhost:${testHost.mainPort}`]);
    assert.equal(parseHttpResponse(result.stdout).status, 200);
    await settled(testHost);
  });

  test("admin counts exactly the connections made: /stats/prometheus and /stats", async () => {
    assert.equal(await connectionCounter(testHost), "connection_counter{} 2");
    assert.equal(statLine((await admin(testHost, "/stats")).body, "wasmcustom.connection_counter"), "wasmcustom.connection_counter: 2");
    assert.equal((await admin(testHost, "/stats/prometheus")).contentType, "text/plain; version=0.0.4");
  });

  test("2,000 sequential requests are all answered and counted once each", async () => {
    const request = postRequest("localhost");
    let answered = 0;
    for (let i = 0; i < 2000; i++) {
      if (parseHttpResponse(await exchange(testHost.mainPort, request)).body === "example body\n") answered++;
    }
    assert.equal(answered, 2000);
    await settled(testHost);
    assert.equal(await connectionCounter(testHost), "connection_counter{} 2002");
  });

  test("200 concurrent connections are all answered and counted once each", async () => {
    const request = postRequest("localhost");
    const replies = await Promise.all(Array.from({ length: 200 }, () => exchange(testHost.mainPort, request)));
    assert.equal(replies.filter((reply) => parseHttpResponse(reply).body === "example body\n").length, 200);
    await settled(testHost);
    assert.equal(await connectionCounter(testHost), "connection_counter{} 2202");
  });

  test("admin: /ready is LIVE, an unknown path is 404 with the list of endpoints", async () => {
    assert.deepEqual(await admin(testHost, "/ready"), { status: 200, contentType: "text/plain; charset=UTF-8", body: "LIVE\n" });
    const unknown = await admin(testHost, "/nope");
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /\/stats\/prometheus: /);
    assert.equal((await admin(testHost, "/quitquitquit")).status, 405);
  });
});

describe("the local host with --concurrency 2", () => {
  test("connections spread over two worker VMs and are counted exactly", NEEDS_CURL, async () => {
    const testHost = await startTestHost({ concurrency: 2 });
    try {
      assert.deepEqual(
        testHost.host.plugins[0].diagnostics().map((vm) => vm.role),
        ["main", "worker 0", "worker 1"],
      );
      for (let i = 0; i < 5; i++) await curl([`localhost:${testHost.mainPort}`, "--data", "[initial body]"]);
      await settled(testHost);
      assert.equal(await connectionCounter(testHost), "connection_counter{} 5");
    } finally {
      await testHost.host.close();
    }
  });
});

describe("the local host with legacy property names (Envoy <= 1.24)", () => {
  test("the plugin still logs the cluster's location metadata", NEEDS_CURL, async () => {
    const testHost = await startTestHost({ propertyNames: "legacy" });
    try {
      await curl([`localhost:${testHost.mainPort}`, "--data", "[initial body]"]);
      await settled(testHost);
      assert.ok(wasmMessages(testHost.logs).includes(`${PREFIX}connection 2: upstream cluster metadata location.az: ap-northeast-1a`));
    } finally {
      await testHost.host.close();
    }
  });
});

describe("the local host without the wasm filter (tcp_proxy alone)", () => {
  test("proxies the same, and no plugin runs", NEEDS_CURL, async () => {
    const testHost = await startTestHost({ withoutWasm: true });
    try {
      const result = await curl([`localhost:${testHost.mainPort}`, "--data", "[initial body]"]);
      assert.equal(result.stdout, "example body\n");
      await testHost.host.whenIdle();
      assert.deepEqual(testHost.host.plugins, []);
      assert.deepEqual(wasmMessages(testHost.logs), []);
    } finally {
      await testHost.host.close();
    }
  });
});

describe("admin POST /quitquitquit", () => {
  test("answers OK, ends open connections, closes the plugin and every port", NEEDS_CURL, async () => {
    const testHost = await startTestHost();
    // a client that connected and waits: the shutdown must end it
    const waiting = connect({ host: "127.0.0.1", port: testHost.mainPort });
    waiting.on("error", () => {});
    const waitingClosed = new Promise((resolve) => waiting.on("close", resolve));
    while (testHost.host.plugins[0].activeConnections === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await admin(testHost, "/quitquitquit", "POST"), { status: 200, contentType: "text/plain; charset=UTF-8", body: "OK\n" });
    await testHost.host.closed;
    await waitingClosed;
    assert.equal(testHost.host.openConnections, 0);
    assert.equal(testHost.host.plugins[0].activeConnections, 0);
    assert.equal(await connectionCounter(testHost).catch(() => "refused"), "refused");
    const refused = await curl([`localhost:${testHost.mainPort}`]);
    assert.equal(refused.code, 7);
    assert.equal(testHost.logs.at(-1)?.endsWith("[main] [source/server/server.cc:1050] exiting"), true);
  });
});

describe("the local host bound beyond loopback (--bind 0.0.0.0)", () => {
  test("warns once that admin is reachable and unauthenticated", async () => {
    const testHost = await startTestHost({ bindAddress: "0.0.0.0" });
    try {
      const warnings = testHost.logs.filter((line) => line.includes("][warning][admin] "));
      assert.deepEqual(
        warnings.map((line) => line.slice(line.indexOf("]") + 1)),
        [
          `[1][warning][admin] [host/local-host.ts] admin on 0.0.0.0:${testHost.host.adminPort} is reachable from other machines ` +
            "and has no authentication: anyone who reaches it can read the stats, change log levels and stop the host (POST /quitquitquit)",
        ],
      );
    } finally {
      await testHost.host.close();
    }
  });

  test("on loopback there is no such warning", async () => {
    const testHost = await startTestHost();
    try {
      assert.deepEqual(testHost.logs.filter((line) => line.includes("][warning]")), []);
    } finally {
      await testHost.host.close();
    }
  });
});
