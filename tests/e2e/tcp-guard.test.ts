// The local host end to end with examples/tcp_guard/envoy.yaml and the release build/tcp_guard.wasm, on
// free ports: curl through the guard's PROXY line, which the upstream listener's proxy_protocol
// filter takes off; a denied client closed with no reply and no upstream connection; a client
// over the byte limit cut off; the guard's log lines and counters.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect } from "node:net";
import { after, describe, test } from "node:test";
import { NEEDS_CURL, curl, parseHttpResponse } from "../helpers/e2e-clients.ts";
import { TCP_GUARD_YAML } from "../helpers/e2e-paths.ts";
import { adminStats, startTestHost, tcpGuardConfig, wasmMessages, type TestHost } from "../helpers/e2e.ts";

const PREFIX = "wasm log tcp_guard tcp_guard tcp_guard: ";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tcp-guard-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

const guardConfig = (name: string, configuration: string) => tcpGuardConfig(scratch, name, configuration);

/** Wait until every connection has ended in the host and in the plugin. */
async function settled(testHost: TestHost): Promise<void> {
  await testHost.host.whenIdle();
  assert.equal(testHost.host.plugins[0].activeConnections, 0);
}

describe("the local host with examples/tcp_guard/envoy.yaml and build/tcp_guard.wasm", NEEDS_CURL, () => {
  test("curl --data '[initial body]' gets 200 'example body': the PROXY line reached the upstream intact", async () => {
    const testHost = await startTestHost({ configPath: TCP_GUARD_YAML, wasmLogLevel: "debug" });
    try {
      const result = await curl(["-i", "-A", "e2e", `localhost:${testHost.mainPort}`, "--data", "[initial body]"]);
      const response = parseHttpResponse(result.stdout);
      assert.deepEqual([result.code, response.status, response.body], [0, 200, "example body\n"]);
      await settled(testHost);
      const messages = wasmMessages(testHost.logs);
      assert.deepEqual(messages.slice(0, 3), Array(3).fill(`wasm log tcp_guard tcp_guard: configured: deny_sources=[] max_downstream_bytes=1048576 proxy_protocol=true`));
      assert.match(
        messages[3],
        new RegExp(`^${PREFIX}connection 2: prepended PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ ${testHost.mainPort}\\\\r\\\\n$`),
      );
      assert.deepEqual(
        await adminStats(testHost, "wasmcustom.tcp_guard_connections", "proxy_proto.versions.v1.found", "proxy_proto.not_found_disallowed", "cluster.web_service.upstream_cx_total"),
        ["wasmcustom.tcp_guard_connections: 1", "proxy_proto.versions.v1.found: 1", "proxy_proto.not_found_disallowed: 0", "cluster.web_service.upstream_cx_total: 1"],
      );
    } finally {
      await testHost.host.close();
    }
  });

  test("a denied client is closed with no reply, and no upstream connection is opened", async () => {
    const testHost = await startTestHost({ configPath: guardConfig("deny", '{"deny_sources": ["127.0.0.0/8", "::1/128"], "proxy_protocol": true}') });
    try {
      for (let i = 0; i < 2; i++) {
        const result = await curl(["-i", `http://127.0.0.1:${testHost.mainPort}/`, "--data", "[initial body]"]);
        // closed before a reply: an empty reply (52), or a reset when the request was unread (56)
        assert.ok(result.code === 52 || result.code === 56, `curl exit ${result.code}: ${result.stderr}`);
        assert.equal(result.stdout, "");
      }
      await settled(testHost);
      assert.deepEqual(
        await adminStats(testHost, "wasmcustom.tcp_guard_connections", "wasmcustom.tcp_guard_denied", "cluster.web_service.upstream_cx_total", "tcp.main_tcp.downstream_cx_rx_bytes_total"),
        ["wasmcustom.tcp_guard_connections: 2", "wasmcustom.tcp_guard_denied: 2", "cluster.web_service.upstream_cx_total: 0", "tcp.main_tcp.downstream_cx_rx_bytes_total: 0"],
      );
      const refusals = wasmMessages(testHost.logs).filter((line) => line.includes("refused"));
      assert.equal(refusals.length, 2);
      assert.match(refusals[0], new RegExp(`^${PREFIX}connection 2: refused: source 127\\.0\\.0\\.1:\\d+ is in deny_sources 127\\.0\\.0\\.0/8$`));
    } finally {
      await testHost.host.close();
    }
  });

  test("a client past max_downstream_bytes is cut off: what it sent before went through, the rest did not", async () => {
    const testHost = await startTestHost({ configPath: guardConfig("limit", '{"max_downstream_bytes": 20, "proxy_protocol": true}') });
    try {
      const socket = connect({ host: "127.0.0.1", port: testHost.mainPort });
      let received = "";
      socket.on("error", () => {});
      socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
      const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
      // 16 bytes pass; the 10 after them take the client past 20 bytes
      socket.write("GET / HTTP/1.1\r\n");
      while ((await adminStats(testHost, "tcp.main_tcp.downstream_cx_rx_bytes_total"))[0] !== "tcp.main_tcp.downstream_cx_rx_bytes_total: 16") {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      socket.write("Host: x\r\n\r\n");
      await closed;
      await settled(testHost);
      // the upstream never saw a whole request: nothing came back
      assert.equal(received, "");
      assert.deepEqual(await adminStats(testHost, "wasmcustom.tcp_guard_over_limit", "proxy_proto.versions.v1.found"), [
        "wasmcustom.tcp_guard_over_limit: 1",
        "proxy_proto.versions.v1.found: 1",
      ]);
      assert.ok(
        wasmMessages(testHost.logs).includes(`${PREFIX}connection 2: closed: 27 bytes from downstream exceed max_downstream_bytes 20`),
        wasmMessages(testHost.logs).join("\n"),
      );
    } finally {
      await testHost.host.close();
    }
  });
});
