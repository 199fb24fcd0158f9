// envoy/envoy-remote.yaml in the local host: build/main.wasm fetched over HTTP from a loopback
// server through cluster plugin_server, checked against its sha256, with Envoy's timeout,
// retries and messages (docs/envoy-host.md §12); the listeners start only once it is there.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MissingPluginError } from "../../host/local-host.ts";
import { ASYNC_RESPONSE_BUFFER_LIMIT } from "../../host/remote-code.ts";
import { createLogger } from "../../host/log.ts";
import { runCli } from "../helpers/e2e-cli.ts";
import { curl } from "../helpers/e2e-clients.ts";
import { ROOT } from "../helpers/e2e-paths.ts";
import { startTestHost, statLine, wasmMessages } from "../helpers/e2e.ts";

const MAIN_WASM = readFileSync(join(ROOT, "build", "main.wasm"));
const MAIN_SHA256 = createHash("sha256").update(MAIN_WASM).digest("hex");
const TEMPLATE = readFileSync(join(ROOT, "envoy", "envoy-remote.yaml"), "utf8");

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A loopback HTTP server on a free port; each request is answered by the next handler (the last one repeats). */
async function startServer(...handlers: Handler[]): Promise<{ port: number; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url} host=${request.headers.host}`);
    handlers[Math.min(requests.length - 1, handlers.length - 1)]!(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, requests, server };
}

const serveWasm: Handler = (_request, response) => response.writeHead(200).end(MAIN_WASM);
const notFound: Handler = (_request, response) => response.writeHead(404).end("not found");
const neverAnswer: Handler = () => {};

interface RemoteSettings {
  port: number;
  sha256?: string;
  timeout?: string;
  numRetries?: number;
  baseInterval?: string;
}

describe("code.remote in the local host", () => {
  const scratch = mkdtempSync(join(tmpdir(), "remote-code-"));
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.closeAllConnections();
    for (const server of servers) server.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /**
   * envoy/envoy-remote.yaml pointed at the test server, with the module's digest and quick retries.
   * The fetch keeps the shipped 10 s timeout unless a test is about the timeout: a loaded machine
   * can take seconds to serve and read the module.
   */
  function remoteConfig(settings: RemoteSettings): string {
    const text = TEMPLATE.replace("port_value: 8088", `port_value: ${settings.port}`)
      .replace(/sha256: "0{64}"/, `sha256: "${settings.sha256 ?? MAIN_SHA256}"`)
      .replace("timeout: 10s", `timeout: ${settings.timeout ?? "10s"}`)
      .replace("num_retries: 3", `num_retries: ${settings.numRetries ?? 1}`)
      .replace("base_interval: 0.5s", `base_interval: ${settings.baseInterval ?? "0.01s"}`)
      .replace("max_interval: 2s", "max_interval: 0.04s");
    assert.notEqual(text, TEMPLATE);
    const file = join(scratch, `envoy-remote-${settings.port}-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    return file;
  }

  async function server(...handlers: Handler[]) {
    const started = await startServer(...handlers);
    servers.push(started.server);
    return started;
  }

  /** The log without timestamps: `[level][logger] [source] message`. */
  function untimed(logs: string[]): string[] {
    return logs.map((line) => line.replace(/^\[[^\]]+\]\[\d+\]/, ""));
  }

  it("fetches the module through cluster plugin_server, then serves the mission: 200, the plugin's lines, the counter", async () => {
    const { port, requests } = await server(serveWasm);
    const { host, logs, mainPort } = await startTestHost({ configPath: remoteConfig({ port }) });
    try {
      assert.deepEqual(requests, ["GET /main.wasm host=127.0.0.1:8088"], "the URI's path and authority, sent to the cluster's endpoint");
      const response = await curl(["-s", "-i", `localhost:${mainPort}`, "--data", "[initial body]"]);
      assert.match(response.stdout, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(response.stdout, /\r\n\r\nexample body\n$/);
      await host.whenIdle();
      const messages = wasmMessages(logs).map((line) => line.slice(line.indexOf(": ") + 2));
      assert.ok(messages.includes("connection 2: upstream cluster metadata location.az: ap-northeast-1a"), messages.join("\n"));
      assert.equal(statLine(host.stats.renderText(), "wasmcustom.connection_counter"), "wasmcustom.connection_counter: 1");
      assert.equal(untimed(logs)[0], "[warning][wasm] [source/extensions/common/wasm/wasm.cc:325] Wasm remote code fetch is unstable and may cause a crash");
    } finally {
      await host.close();
    }
  });

  it("starts the listeners only once the module is there, and logs each step at debug as Envoy does", async () => {
    const slow: Handler = (request, response) => setTimeout(() => serveWasm(request, response), 300);
    const { port } = await server(notFound, slow);
    const started = Date.now();
    const logs: string[] = [];
    const logger = createLogger({ level: "info", componentLevels: { config: "debug" }, write: (line) => logs.push(line) });
    const { host } = await startTestHost({ configPath: remoteConfig({ port }), logger });
    try {
      assert.ok(Date.now() - started >= 300, "startLocalHost waited for the fetch");
      const lines = untimed(logs);
      const uri = "http://127.0.0.1:8088/main.wasm";
      const fetchLines = lines.filter((line) => line.includes("[config] [source/common/config/remote_data_fetcher") || line.includes("remote_async_datasource"));
      const retry = fetchLines.find((line) => line.includes("Remote data provider will retry in"));
      assert.match(retry ?? "", /^\[debug\]\[config\] \[source\/extensions\/common\/wasm\/remote_async_datasource\.h:62\] Remote data provider will retry in \d ms\.$/, "below base_interval 10 ms");
      assert.deepEqual(fetchLines.filter((line) => line !== retry), [
        `[debug][config] [source/common/config/remote_data_fetcher.cc:35] fetch remote data from [uri = ${uri}]: start`,
        `[debug][config] [source/common/config/remote_data_fetcher.cc:68] fetch remote data [uri = ${uri}]: response status code 404`,
        "[debug][config] [source/extensions/common/wasm/remote_async_datasource.h:50] Failed to fetch remote data, failure reason: 0",
        `[debug][config] [source/common/config/remote_data_fetcher.cc:35] fetch remote data from [uri = ${uri}]: start`,
        `[debug][config] [source/common/config/remote_data_fetcher.cc:52] fetch remote data [uri = ${uri}]: success`,
      ]);
      const success = lines.findIndex((line) => line.endsWith(": success"));
      const listener = lines.findIndex((line) => line.includes("listener 'main' on"));
      assert.ok(success >= 0 && listener > success, "the listener comes after the module");
    } finally {
      await host.close();
    }
  });

  async function startError(settings: RemoteSettings): Promise<{ message: string; elapsedMs: number }> {
    const started = Date.now();
    const error = await startTestHost({ configPath: remoteConfig(settings) }).then(
      (running) => {
        void running.host.close();
        throw new Error("the host started");
      },
      (reason: unknown) => reason,
    );
    assert.ok(error instanceof MissingPluginError, String(error));
    return { message: error.message, elapsedMs: Date.now() - started };
  }

  it("refuses a module whose sha256 differs, with Envoy's message, after the configured retries", async () => {
    const { port, requests } = await server(serveWasm);
    const wrong = "ab".repeat(32);
    const { message } = await startError({ port, sha256: wrong, numRetries: 2 });
    assert.equal(
      message,
      `plugin 'tcp_connection_logger': fetch remote data [uri = http://127.0.0.1:8088/main.wasm]: data is invalid: its sha256 is ${MAIN_SHA256}, code.remote.sha256 is ${wrong} (3 attempts)`,
    );
    assert.equal(requests.length, 3, "num_retries 2: three attempts");
  });

  it("compares the digest as written: the right one in upper case is refused, as in Envoy", async () => {
    const { port } = await server(serveWasm);
    const { message } = await startError({ port, sha256: MAIN_SHA256.toUpperCase(), numRetries: 0 });
    assert.match(message, /: data is invalid: its sha256 is [0-9a-f]{64}, code\.remote\.sha256 is [0-9A-F]{64} \(1 attempt\)$/);
  });

  it("refuses a 404 with Envoy's message", async () => {
    const { port, requests } = await server(notFound);
    const { message } = await startError({ port });
    assert.equal(message, "plugin 'tcp_connection_logger': fetch remote data [uri = http://127.0.0.1:8088/main.wasm]: response status code 404 (2 attempts)");
    assert.equal(requests.length, 2, "num_retries 1 by default here");
  });

  it("gives up on a server that never answers after http_uri.timeout per attempt: Envoy's 504", async () => {
    const { port, requests } = await server(neverAnswer);
    const { message, elapsedMs } = await startError({ port, timeout: "0.2s", numRetries: 1 });
    assert.equal(message, "plugin 'tcp_connection_logger': fetch remote data [uri = http://127.0.0.1:8088/main.wasm]: response status code 504 (no answer within 200 ms) (2 attempts)");
    assert.equal(requests.length, 2);
    // Two attempts of 200 ms at least; no upper bound, as load delays timers.
    assert.ok(elapsedMs >= 400, `${elapsedMs} ms`);
  });

  it("refuses an empty body and a server that is not there", async () => {
    const empty = await server((_request, response) => response.writeHead(200).end());
    assert.match((await startError({ port: empty.port, numRetries: 0 })).message, /\]: body is empty \(1 attempt\)$/);
    const gone = await server(serveWasm);
    await new Promise((resolve) => gone.server.close(resolve));
    assert.match((await startError({ port: gone.port, numRetries: 0 })).message, /\]: response status code 503 \(1 attempt\)$/);
  });

  it("names the URI and V8's reason for a module with the right sha256 that does not compile", async () => {
    const notWasm = Buffer.from("not a WebAssembly module");
    const { port, requests } = await server((_request, response) => response.writeHead(200).end(notWasm));
    const sha256 = createHash("sha256").update(notWasm).digest("hex");
    const { message } = await startError({ port, sha256, numRetries: 2 });
    assert.equal(
      message,
      "Unable to create Wasm plugin tcp_connection_logger: Failed to load Wasm code from http://127.0.0.1:8088/main.wasm: " +
        "WebAssembly.Module(): expected magic word 00 61 73 6d, found 6e 6f 74 20 @+0",
    );
    assert.equal(requests.length, 1, "the fetch succeeded: no retry, as in Envoy");
  });

  it("drops a body that passes Envoy's async client limit (32 MiB) as it passes it: network error 1", async () => {
    // One byte more than the limit, sent in chunks; the host stops reading at the limit.
    const chunk = Buffer.alloc(1024 * 1024);
    let sent = 0;
    const overLimit: Handler = (_request, response) => {
      response.writeHead(200, { "content-length": String(ASYNC_RESPONSE_BUFFER_LIMIT + 1) });
      const writeMore = () => {
        while (sent < ASYNC_RESPONSE_BUFFER_LIMIT + 1 && !response.destroyed) {
          const part = chunk.subarray(0, Math.min(chunk.length, ASYNC_RESPONSE_BUFFER_LIMIT + 1 - sent));
          sent += part.length;
          if (!response.write(part)) return void response.once("drain", writeMore);
        }
        response.end();
      };
      response.on("error", () => {});
      writeMore();
    };
    const { port, requests } = await server(overLimit);
    const logs: string[] = [];
    const logger = createLogger({ level: "info", componentLevels: { config: "debug" }, write: (line) => logs.push(line) });
    const error = await startTestHost({ configPath: remoteConfig({ port, numRetries: 0 }), logger }).then(
      (running) => {
        void running.host.close();
        throw new Error("the host started");
      },
      (reason: unknown) => reason,
    );
    assert.ok(error instanceof MissingPluginError, String(error));
    assert.equal(
      error.message,
      "plugin 'tcp_connection_logger': fetch remote data [uri = http://127.0.0.1:8088/main.wasm]: network error 1 " +
        "(the response passed 33554432 bytes, the most Envoy's async client buffers) (1 attempt)",
    );
    assert.equal(requests.length, 1);
    assert.ok(
      untimed(logs).includes(
        "[warning][http] [source/common/http/async_client_impl.cc:456] the buffer size limit for async client response body has been exceeded, draining data",
      ),
      logs.join("\n"),
    );
    assert.ok(
      untimed(logs).includes(
        "[debug][config] [source/common/config/remote_data_fetcher.cc:78] fetch remote data [uri = http://127.0.0.1:8088/main.wasm]: network error 1",
      ),
      logs.join("\n"),
    );
  });

  it("the command line prints one line and exits 1", async () => {
    const { port } = await server(notFound);
    const result = await runCli(["-c", remoteConfig({ port, numRetries: 0 })]);
    assert.equal(result.code, 1);
    const errors = result.stderr.split("\n").filter((line) => line.startsWith("error: "));
    assert.deepEqual(errors, ["error: plugin 'tcp_connection_logger': fetch remote data [uri = http://127.0.0.1:8088/main.wasm]: response status code 404 (1 attempt)"]);
    assert.match(result.stderr, /\]\[warning\]\[config\] \[source\/extensions\/common\/wasm\/remote_async_datasource\.h:52\] Retry limit exceeded for fetching data from remote data source\.\n/);
  });
});
