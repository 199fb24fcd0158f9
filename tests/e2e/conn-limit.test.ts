// The local host end to end with examples/conn_limit/envoy.yaml and the release build/conn_limit.wasm,
// --concurrency 2, on free ports: 500 clients at once from five loopback addresses against an
// upstream that holds every connection open. Each client's first line names its source, so the
// upstream counts, per source, the connections it has open at once: never more than the limit,
// whichever worker took them. When they are all gone, the shared counts are back to 0 (the tick's
// gauge).

import assert from "node:assert/strict";
import fs from "node:fs";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { ROOT } from "../helpers/e2e-paths.ts";
import { adminStats, startTestHost, type TestHost } from "../helpers/e2e.ts";

const CONN_LIMIT_YAML = path.join(ROOT, "examples", "conn_limit", "envoy.yaml");
const SHIPPED_CONFIGURATION = '{"max_connections_per_source": 4, "tick_ms": 1000}';
const LIMIT = 4;
/** A short tick, so that the gauges follow the counts within the test. */
const CONFIGURATION = `{"max_connections_per_source": ${LIMIT}, "tick_ms": 20}`;
const SOURCES = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"];
const CLIENTS = 500;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "conn-limit-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** examples/conn_limit/envoy.yaml with a short tick and web_service at `upstreamPort`. */
function configWithUpstream(upstreamPort: number): string {
  const text = fs.readFileSync(CONN_LIMIT_YAML, "utf8");
  assert.ok(text.includes(`value: '${SHIPPED_CONFIGURATION}'`), "examples/conn_limit/envoy.yaml's configuration is the one shipped");
  // The cluster's endpoint is the last port 8099 (the first is the staticreply listener's).
  const endpoint = text.lastIndexOf("port_value: 8099");
  const file = path.join(scratch, "conn-limit.yaml");
  const replaced = text.slice(0, endpoint) + `port_value: ${upstreamPort}` + text.slice(endpoint + "port_value: 8099".length);
  fs.writeFileSync(file, replaced.replace(`value: '${SHIPPED_CONFIGURATION}'`, `value: '${CONFIGURATION}'`));
  return file;
}

/** An upstream that keeps every connection open, and counts them per source named in their first line. */
class HoldingUpstream {
  readonly server = createServer((socket) => this.accept(socket));
  readonly sockets = new Set<Socket>();
  /** source → connections open now, and the most it ever had at once */
  readonly open = new Map<string, number>();
  readonly most = new Map<string, number>();
  identified = 0;
  private changed: () => void = () => {};

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    let firstLine = "";
    let source: string | undefined;
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      if (source !== undefined) return;
      firstLine += chunk.toString("latin1");
      const end = firstLine.indexOf("\n");
      if (end < 0) return;
      source = firstLine.slice(0, end);
      const now = (this.open.get(source) ?? 0) + 1;
      this.open.set(source, now);
      this.most.set(source, Math.max(now, this.most.get(source) ?? 0));
      this.identified++;
      this.changed();
    });
    socket.on("close", () => {
      this.sockets.delete(socket);
      if (source !== undefined) this.open.set(source, this.open.get(source)! - 1);
      this.changed();
    });
  }

  /** Resolves once `condition` holds, checked after each connection or line. */
  until(condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (condition()) resolve();
      };
      this.changed = check;
      check();
    });
  }
}

/** A client from `source` that sends its source as its first line; resolves when the connection closes. */
function client(port: number, source: string, sockets: Socket[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress: source });
    sockets.push(socket);
    socket.on("connect", () => socket.write(`${source}\n`));
    // A refused client may see its line rejected by the closed socket (EPIPE, ECONNRESET).
    socket.on("error", () => {});
    socket.on("close", () => resolve());
  });
}

/** Waits until the admin stats `names` read `expected` (the tick sets the gauges every 20 ms). */
async function statsBecome(testHost: TestHost, names: string[], expected: string[]): Promise<void> {
  for (;;) {
    const now = await adminStats(testHost, ...names);
    if (JSON.stringify(now) === JSON.stringify(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Whether this machine has the loopback addresses SOURCES (Linux has all of 127/8; macOS has 127.0.0.1 alone). */
async function sourcesAvailable(): Promise<boolean> {
  for (const source of SOURCES) {
    const probe = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      probe.once("error", () => resolve(false));
      probe.listen(0, source, () => resolve(true));
    });
    if (!bound) return false;
    await new Promise((resolve) => probe.close(resolve));
  }
  return true;
}

test("--concurrency 2, 500 clients from five sources at once: at most 4 open per source at the upstream, the rest closed unconnected; counts back to 0", { timeout: 120_000 }, async (t) => {
  if (!(await sourcesAvailable())) {
    console.log(`skipped: loopback addresses ${SOURCES.join(", ")} not available`);
    t.skip(`loopback addresses ${SOURCES.join(", ")} not available`);
    return;
  }
  const upstream = new HoldingUpstream();
  await new Promise<void>((resolve) => upstream.server.listen(0, "127.0.0.1", resolve));
  const upstreamPort = (upstream.server.address() as AddressInfo).port;
  const testHost = await startTestHost({ configPath: configWithUpstream(upstreamPort), concurrency: 2 });
  const sockets: Socket[] = [];
  try {
    const allowed = LIMIT * SOURCES.length;
    const refused = CLIENTS - allowed;
    let closedCount = 0;
    let everyRefusedClosed = () => {};
    const refusedClosed = new Promise<void>((resolve) => (everyRefusedClosed = resolve));
    const closed: Array<Promise<void>> = [];
    for (let i = 0; i < CLIENTS; i++) {
      const each = client(testHost.mainPort, SOURCES[i % SOURCES.length], sockets);
      each.then(() => {
        if (++closedCount === refused) everyRefusedClosed();
      });
      closed.push(each);
    }
    // Every client is decided: the upstream holds LIMIT per source, and the filter closed all the others.
    await Promise.all([upstream.until(() => upstream.identified === allowed), refusedClosed]);
    assert.deepEqual(Object.fromEntries(upstream.most), Object.fromEntries(SOURCES.map((source) => [source, LIMIT])));
    assert.deepEqual(
      await adminStats(testHost, "wasmcustom.conn_limit_allowed", "wasmcustom.conn_limit_refused", "cluster.web_service.upstream_cx_total"),
      [`wasmcustom.conn_limit_allowed: ${allowed}`, `wasmcustom.conn_limit_refused: ${refused}`, `cluster.web_service.upstream_cx_total: ${allowed}`],
    );
    await statsBecome(testHost, ["wasmcustom.conn_limit_open", "wasmcustom.conn_limit_sources_at_limit"], [
      `wasmcustom.conn_limit_open: ${allowed}`,
      "wasmcustom.conn_limit_sources_at_limit: 5",
    ]);

    // The upstream lets go of every connection: each is done, and gives its count back.
    for (const socket of upstream.sockets) socket.destroy();
    await Promise.all(closed);
    await testHost.host.whenIdle();
    await statsBecome(testHost, ["wasmcustom.conn_limit_open", "wasmcustom.conn_limit_sources_at_limit"], [
      "wasmcustom.conn_limit_open: 0",
      "wasmcustom.conn_limit_sources_at_limit: 0",
    ]);
    assert.deepEqual(Object.fromEntries(upstream.open), Object.fromEntries(SOURCES.map((source) => [source, 0])));
  } finally {
    for (const socket of sockets) socket.destroy();
    await testHost.host.close();
    await new Promise((resolve) => upstream.server.close(resolve));
  }
});
