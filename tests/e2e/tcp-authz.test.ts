// The local host end to end with examples/tcp_authz/envoy.yaml and the release build/tcp_authz.wasm,
// on free ports: the authorization service is the config's own listener authz_service, which
// refuses clients of 127.0.0.2. An admitted client gets the upstream's answer; a refused one is
// closed and tcp_proxy never connects; a service that is down or silent is a failure that
// failure_mode decides; a client that leaves during the question leaves nothing behind.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, createServer, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import { NEEDS_CURL, curl, parseHttpResponse } from "../helpers/e2e-clients.ts";
import { ROOT } from "../helpers/e2e-paths.ts";
import { adminStats, startTestHost, wasmMessages, type TestHost } from "../helpers/e2e.ts";
import { freePorts } from "../helpers/free-ports.ts";

const TCP_AUTHZ_YAML = path.join(ROOT, "examples", "tcp_authz", "envoy.yaml");
const PREFIX = "wasm log tcp_authz tcp_authz tcp_authz: ";
const SHIPPED_CONFIGURATION = '{"cluster": "authz", "path": "/check", "timeout_ms": 1000, "failure_mode": "deny"}';
const AUTHZ_ENDPOINT = /(cluster_name: authz\n[\s\S]*?port_value: )8098/;
const COUNTERS = ["wasmcustom.tcp_authz_allowed", "wasmcustom.tcp_authz_denied", "wasmcustom.tcp_authz_failed", "cluster.web_service.upstream_cx_total"];

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tcp-authz-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** examples/tcp_authz/envoy.yaml with another plugin configuration and, given a port, the authz cluster sent there. */
function authzConfig(name: string, configuration: string, authzPort?: number): string {
  let text = fs.readFileSync(TCP_AUTHZ_YAML, "utf8");
  assert.ok(text.includes(`value: '${SHIPPED_CONFIGURATION}'`) && AUTHZ_ENDPOINT.test(text), "examples/tcp_authz/envoy.yaml is as shipped");
  text = text.replace(`value: '${SHIPPED_CONFIGURATION}'`, `value: '${configuration}'`);
  if (authzPort !== undefined) text = text.replace(AUTHZ_ENDPOINT, `$1${authzPort}`);
  const file = path.join(scratch, `${name}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

function start(configPath = TCP_AUTHZ_YAML): Promise<TestHost> {
  return startTestHost({ configPath, listenerPorts: { main: 0, staticreply: 0, authz_service: 0 } });
}

/** Wait until every connection has ended in the host and in the plugin. */
async function settled(testHost: TestHost): Promise<void> {
  await testHost.host.whenIdle();
  assert.equal(testHost.host.plugins[0].activeConnections, 0);
}

/** A raw client from `localAddress`: what it received once the proxy closed it. */
function rawClient(port: number, localAddress: string, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    let received = "";
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
    socket.on("close", () => resolve(received));
    socket.write(request);
  });
}

/** A service that takes connections and never answers; `requested` resolves with the first one's socket once it has sent bytes. */
async function silentService(): Promise<{ stop: () => Promise<void>; port: number; requested: Promise<Socket> }> {
  let arrived!: (socket: Socket) => void;
  const requested = new Promise<Socket>((resolve) => (arrived = resolve));
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.once("data", () => arrived(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const stop = () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    return closed;
  };
  return { stop, port: (server.address() as { port: number }).port, requested };
}

/** The host's own error lines (the wasm filter's warnings are its own). */
function hostErrors(logs: string[]): string[] {
  return logs.filter((line) => /\]\[(error|critical)\]/.test(line));
}

describe("the local host with examples/tcp_authz/envoy.yaml and build/tcp_authz.wasm", NEEDS_CURL, () => {
  test("an admitted client gets the upstream's answer; a client of 127.0.0.2 is closed and tcp_proxy never connects", async () => {
    const testHost = await start();
    try {
      const result = await curl(["-i", `http://127.0.0.1:${testHost.mainPort}/`]);
      const response = parseHttpResponse(result.stdout);
      assert.deepEqual([result.code, response.status, response.body], [0, 200, "example body\n"]);
      await settled(testHost);
      assert.deepEqual(await adminStats(testHost, ...COUNTERS), [
        "wasmcustom.tcp_authz_allowed: 1", "wasmcustom.tcp_authz_denied: 0", "wasmcustom.tcp_authz_failed: 0", "cluster.web_service.upstream_cx_total: 1",
      ]);
      assert.equal(await rawClient(testHost.mainPort, "127.0.0.2", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "");
      await settled(testHost);
      assert.deepEqual(await adminStats(testHost, ...COUNTERS), [
        "wasmcustom.tcp_authz_allowed: 1", "wasmcustom.tcp_authz_denied: 1", "wasmcustom.tcp_authz_failed: 0", "cluster.web_service.upstream_cx_total: 1",
      ]);
      assert.deepEqual(wasmMessages(testHost.logs).slice(3), [`${PREFIX}connection 2: allowed: authz answered 200`, `${PREFIX}connection 3: denied: authz answered 403`]);
      assert.deepEqual(hostErrors(testHost.logs), []);
    } finally {
      await testHost.host.close();
    }
  });

  test("the service down (the router's 503): failure_mode deny closes the client, and tcp_proxy never connects", async () => {
    const [closedPort] = await freePorts(1);
    const testHost = await start(authzConfig("down", '{"failure_mode": "deny"}', closedPort));
    try {
      assert.equal(await rawClient(testHost.mainPort, "127.0.0.1", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "");
      await settled(testHost);
      assert.deepEqual(await adminStats(testHost, ...COUNTERS), [
        "wasmcustom.tcp_authz_allowed: 0", "wasmcustom.tcp_authz_denied: 0", "wasmcustom.tcp_authz_failed: 1", "cluster.web_service.upstream_cx_total: 0",
      ]);
      assert.deepEqual(wasmMessages(testHost.logs).slice(3), [`${PREFIX}connection 2: authz failed (answered 503): failure_mode deny refuses the connection`]);
    } finally {
      await testHost.host.close();
    }
  });

  test("the service silent past timeout_ms (the router's 504): failure_mode allow admits the client", async () => {
    const silent = await silentService();
    const testHost = await start(authzConfig("silent", '{"timeout_ms": 200, "failure_mode": "allow"}', silent.port));
    try {
      const result = await curl(["-i", `http://127.0.0.1:${testHost.mainPort}/`]);
      assert.deepEqual([result.code, parseHttpResponse(result.stdout).status], [0, 200]);
      await settled(testHost);
      assert.deepEqual(await adminStats(testHost, ...COUNTERS), [
        "wasmcustom.tcp_authz_allowed: 0", "wasmcustom.tcp_authz_denied: 0", "wasmcustom.tcp_authz_failed: 1", "cluster.web_service.upstream_cx_total: 1",
      ]);
      assert.deepEqual(wasmMessages(testHost.logs).slice(3), [`${PREFIX}connection 2: authz failed (answered 504): failure_mode allow admits the connection`]);
    } finally {
      await testHost.host.close();
      await silent.stop();
    }
  });

  // Envoy's tcp_proxy disables reads from the connection's start until its upstream is connected,
  // with half-close on (docs/envoy-host.md §13): a client that goes while the filter holds the
  // connection is not seen until the filter lets it go on. Then its bytes and its FIN pass, and
  // the connection ends as any other.
  test("a client that leaves during the question is seen once the answer lets it go on; nothing is left behind", async () => {
    const silent = await silentService();
    const testHost = await start(authzConfig("leave", '{"timeout_ms": 300, "failure_mode": "allow"}', silent.port));
    try {
      const client = connect({ host: "127.0.0.1", port: testHost.mainPort });
      client.on("error", () => {});
      const clientClosed = new Promise((resolve) => client.on("close", resolve));
      client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      await silent.requested;
      client.destroy();
      await clientClosed;
      // the 504 at the timeout admits it; tcp_proxy connects, reads the request and the FIN
      while ((await adminStats(testHost, "wasmcustom.tcp_authz_failed"))[0] !== "wasmcustom.tcp_authz_failed: 1") {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await settled(testHost);
      assert.deepEqual(await adminStats(testHost, ...COUNTERS, "cluster.web_service.upstream_cx_active"), [
        "wasmcustom.tcp_authz_allowed: 0", "wasmcustom.tcp_authz_denied: 0", "wasmcustom.tcp_authz_failed: 1",
        "cluster.web_service.upstream_cx_total: 1", "cluster.web_service.upstream_cx_active: 0",
      ]);
      assert.deepEqual(hostErrors(testHost.logs), []);
    } finally {
      await testHost.host.close();
      await silent.stop();
    }
  });

  test("the host shut down during a question: the call is cancelled with the root context, no callback comes after", async () => {
    const silent = await silentService();
    const testHost = await start(authzConfig("shutdown", '{"timeout_ms": 60000, "failure_mode": "allow"}', silent.port));
    const client = connect({ host: "127.0.0.1", port: testHost.mainPort });
    client.on("error", () => {});
    const clientClosed = new Promise((resolve) => client.on("close", resolve));
    try {
      const question = await silent.requested;
      const questionClosed = new Promise((resolve) => question.on("close", resolve));
      await testHost.host.close();
      // the request to the service was given up, and the client closed, long before the 60 s timeout
      await Promise.all([questionClosed, clientClosed]);
      assert.deepEqual(wasmMessages(testHost.logs).slice(3), [`${PREFIX}connection 2: closed before authz answered`]);
      assert.deepEqual(hostErrors(testHost.logs), []);
    } finally {
      client.destroy();
      await silent.stop();
    }
  });
});
