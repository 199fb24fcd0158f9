// docs/envoy-host.md §17: the command line stops cleanly, with exit 0, on admin POST /quitquitquit
// and on SIGTERM, whatever its clients are doing: no timer or socket a client holds keeps the host
// thread alive past its shutdown. Each case holds a client where a handle could outlive the
// shutdown and leaves its timer far longer than the test's own timeout, which is the guard: the
// process must exit (0, `exiting`, no `did not stop` line), not merely exit soon.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startCli, type CliExit, type RunningCli } from "../helpers/e2e-cli.ts";
import { ROOT, TCP_GUARD_YAML } from "../helpers/e2e-paths.ts";
import { freePorts } from "../helpers/free-ports.ts";

/** Longer than any test may run: a timer of this length that kept the host alive fails the test. */
const OUTLIVES_THE_TEST = "300s";
/** Each case's own guard: a process that does not exit fails its case alone. */
const CASE = { timeout: 90_000 };
const STARTED = "all dependencies initialized. starting workers";
const DID_NOT_STOP = "the host did not stop within";
/** A PROXY protocol v1 line for the upstream listener's listener filter. */
const PROXY_LINE = "PROXY TCP4 127.0.0.1 127.0.0.1 40000 8099\r\n";

interface Ports {
  main: number;
  staticreply: number;
  admin: number;
}

describe("the command line stops with clients still connected", () => {
  let scratch: string;
  const started: RunningCli[] = [];
  const clients: Socket[] = [];
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "local-host-shutdown-"));
  });
  after(() => {
    for (const client of clients) client.destroy();
    for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(scratch, { recursive: true, force: true });
  });

  /**
   * examples/tcp_guard/envoy.yaml on free ports, its upstream listener's listener_filters_timeout longer
   * than the test; `upstreamPort` replaces the cluster's endpoint (the upstream listener by default).
   */
  async function startGuard(name: string, upstreamPort?: (ports: Ports) => number): Promise<{ cli: RunningCli; ports: Ports }> {
    const [main, staticreply, admin] = await freePorts(3);
    const ports = { main: main!, staticreply: staticreply!, admin: admin! };
    let yaml = readFileSync(TCP_GUARD_YAML, "utf8");
    const edits: Array<[string, string]> = [
      ["port_value: 18000", `port_value: ${ports.main}`],
      ["port_value: 8001", `port_value: ${ports.admin}`],
      ["      listener_filters:\n", `      listener_filters_timeout: ${OUTLIVES_THE_TEST}\n      listener_filters:\n`],
      ["connect_timeout: 0.25s", `connect_timeout: ${OUTLIVES_THE_TEST}`],
    ];
    for (const [search, replacement] of edits) {
      assert.equal(yaml.split(search).length, 2, `examples/tcp_guard/envoy.yaml has one '${search.trim()}'`);
      yaml = yaml.replace(search, replacement);
    }
    // the listener's port_value: 8099 comes first, the cluster endpoint's last
    const [listenerPart, clusterPart] = yaml.split("  clusters:");
    yaml =
      listenerPart.replace("port_value: 8099", `port_value: ${ports.staticreply}`) +
      "  clusters:" +
      clusterPart.replace("port_value: 8099", `port_value: ${upstreamPort?.(ports) ?? ports.staticreply}`);
    const config = join(scratch, `${name}.yaml`);
    writeFileSync(config, yaml);
    const cli = startCli(["-c", config]);
    started.push(cli);
    await cli.waitForLog(STARTED);
    return { cli, ports };
  }

  /** A client connected to `port` (its handshake done); it sends `bytes`, if any, and stays. */
  function connectClient(port: number, bytes = ""): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const client = connect({ host: "127.0.0.1", port });
      clients.push(client);
      client.once("error", reject);
      client.once("connect", () => {
        client.on("error", () => {});
        if (bytes !== "") client.write(bytes);
        resolve(client);
      });
    });
  }

  /** Send `request` on a client that stays connected, and resolve with the first reply. */
  async function answeredAndKept(port: number, request: string): Promise<string> {
    const client = await connectClient(port);
    const reply = new Promise<string>((resolve) => client.once("data", (chunk: Buffer) => resolve(chunk.toString("latin1"))));
    client.write(request);
    return reply;
  }

  /**
   * A client in the upstream listener's proxy_protocol listener filter, sending nothing. The host
   * has accepted it once a later client on the same listener is answered: the kernel hands the
   * host the connections in the order their handshakes completed.
   */
  async function idleInListenerFilter(ports: Ports): Promise<void> {
    await connectClient(ports.staticreply);
    const reply = await answeredAndKept(ports.staticreply, `${PROXY_LINE}GET / HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
  }

  function quit(ports: Ports): Promise<Response> {
    return fetch(`http://127.0.0.1:${ports.admin}/quitquitquit`, { method: "POST" });
  }

  function assertCleanExit(result: CliExit): void {
    assert.ok(!result.stderr.includes(DID_NOT_STOP), result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /\[info\]\[main\] \[source\/server\/server\.cc:\d+\] exiting\n/);
  }

  test("a client idle in the proxy_protocol listener filter: POST /quitquitquit, exit 0", CASE, async () => {
    const { cli, ports } = await startGuard("filter-quit");
    await idleInListenerFilter(ports);
    assert.equal((await quit(ports)).status, 200);
    assertCleanExit(await cli.exited);
  });

  test("a client idle in the proxy_protocol listener filter: SIGTERM, exit 0 within the grace period", CASE, async () => {
    const { cli, ports } = await startGuard("filter-term");
    await idleInListenerFilter(ports);
    cli.child.kill("SIGTERM");
    const result = await cli.exited;
    assertCleanExit(result);
    assert.match(result.stderr, /\] caught ENVOY_SIGTERM\n/);
  });

  test("a keep-alive connection on the direct-response listener, handed over by its listener filter: POST /quitquitquit, exit 0", CASE, async () => {
    const { cli, ports } = await startGuard("keep-alive-direct");
    const reply = await answeredAndKept(ports.staticreply, `${PROXY_LINE}GET / HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(reply, /\r\nconnection: close\r\n/i);
    assert.equal((await quit(ports)).status, 200);
    assertCleanExit(await cli.exited);
  });

  test("a keep-alive connection on admin: POST /quitquitquit on another one, exit 0", CASE, async () => {
    const { cli, ports } = await startGuard("keep-alive-admin");
    const reply = await answeredAndKept(ports.admin, "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal((await quit(ports)).status, 200);
    assertCleanExit(await cli.exited);
  });

  test(
    "a client held while tcp_proxy's upstream connect goes unanswered: SIGTERM, exit 0",
    { ...CASE, skip: process.platform === "linux" ? false : "skipped: needs Linux, whose full accept queue drops a SYN" },
    async () => {
      const upstream = await unansweredPort();
      try {
        const { cli, ports } = await startGuard("connecting", () => upstream.port);
        await connectClient(ports.main, "held");
        await waitForStat(ports, "cluster.web_service.upstream_cx_active", 1);
        cli.child.kill("SIGTERM");
        const result = await cli.exited;
        assertCleanExit(result);
      } finally {
        upstream.close();
      }
    },
  );

  test("SIGTERM while code.remote is being fetched from a server that never answers: the fetch given up, exit 0", CASE, async () => {
    let requested = () => {};
    const fetching = new Promise<void>((resolve) => (requested = resolve));
    const silent = createHttpServer(() => requested());
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const [main, staticreply, admin] = await freePorts(3);
      let yaml = readFileSync(join(ROOT, "envoy", "envoy-remote.yaml"), "utf8");
      for (const [search, replacement] of [
        ["port_value: 18000", `port_value: ${main}`],
        ["port_value: 8099", `port_value: ${staticreply}`],
        ["port_value: 8001", `port_value: ${admin}`],
        ["port_value: 8088", `port_value: ${(silent.address() as { port: number }).port}`],
        ["timeout: 10s", `timeout: ${OUTLIVES_THE_TEST}`],
      ]) {
        assert.ok(yaml.includes(search!), `envoy/envoy-remote.yaml has '${search}'`);
        yaml = yaml.replaceAll(search!, replacement!);
      }
      const config = join(scratch, "remote.yaml");
      writeFileSync(config, yaml);
      const cli = startCli(["-c", config]);
      started.push(cli);
      await fetching;
      cli.child.kill("SIGTERM");
      const result = await cli.exited;
      assertCleanExit(result);
      assert.doesNotMatch(result.stderr, /starting main dispatch loop/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  /** A port that never completes a connect: a process that listens and never accepts, its accept queue filled. */
  async function unansweredPort(): Promise<{ port: number; close(): void }> {
    const child = spawn(
      process.execPath,
      [
        "-e",
        // backlog 1: the kernel queues two connections, then drops the SYNs; the blocked loop never accepts
        `const server = require("node:net").createServer();
         server.listen({ host: "127.0.0.1", port: 0, backlog: 1 }, () => {
           process.stdout.write(server.address().port + "\\n");
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
         });`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const port = await firstLine(child);
    for (let queued = 0; queued < 2; queued++) await connectClient(port);
    return { port, close: () => child.kill("SIGKILL") };
  }
});

function firstLine(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("\n")) resolve(Number(text.trim()));
    });
    child.once("exit", () => reject(new Error("the listening process ended")));
  });
}

/** Ask admin until the stat has `value` (the test's timeout guards the wait). */
async function waitForStat(ports: Ports, name: string, value: number): Promise<void> {
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${ports.admin}/stats?filter=${encodeURIComponent(`^${name}$`)}`)).text();
    if (text === `${name}: ${value}\n`) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
