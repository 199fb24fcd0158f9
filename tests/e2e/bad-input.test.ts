// Bad input at the entrances not covered elsewhere: a plugin file that is not a whole proxy-wasm
// module (each refused in one line, before any port is bound), and clients that connect and send
// nothing, alone or while others are served.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/e2e-cli.ts";
import { NEEDS_CURL, curl } from "../helpers/e2e-clients.ts";
import { BUILD_FOLDER } from "../helpers/e2e-paths.ts";
import { startTestHost, wasmMessages } from "../helpers/e2e.ts";

/** The smallest valid wasm module: magic and version, no sections. */
const EMPTY_WASM_MODULE = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

describe("a plugin file that is not a proxy-wasm module", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "local-host-bad-wasm-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** A plugin folder whose main.wasm holds `bytes`. */
  function pluginFolder(name: string, bytes: Uint8Array): string {
    const folder = join(scratch, name);
    mkdirSync(folder);
    writeFileSync(join(folder, "main.wasm"), bytes);
    return folder;
  }

  async function startError(folder: string): Promise<string> {
    const result = await runCli(["--plugin-folder", folder]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.filter((line) => line.startsWith("error: ")).length, 1, result.stderr);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    return lines.at(-1)!;
  }

  test("a truncated main.wasm is refused in one line naming the file", async () => {
    const whole = readFileSync(join(BUILD_FOLDER, "main.wasm"));
    const folder = pluginFolder("truncated", whole.subarray(0, Math.floor(whole.length / 2)));
    assert.equal(
      await startError(folder),
      `error: Unable to create Wasm plugin tcp_connection_logger: Failed to load Wasm code from ${join(folder, "main.wasm")}`,
    );
  });

  test("a file that is not wasm at all is refused in one line naming the file", async () => {
    const folder = pluginFolder("text", new TextEncoder().encode("#!/bin/sh\necho not wasm\n"));
    assert.equal(
      await startError(folder),
      `error: Unable to create Wasm plugin tcp_connection_logger: Failed to load Wasm code from ${join(folder, "main.wasm")}`,
    );
  });

  test("a valid wasm module without the proxy-wasm ABI is refused with Envoy's message", async () => {
    const folder = pluginFolder("not-proxy-wasm", EMPTY_WASM_MODULE);
    assert.equal(
      await startError(folder),
      "error: Unable to create Wasm plugin tcp_connection_logger: Missing or unknown Proxy-Wasm ABI version",
    );
  });
});

describe("clients that connect and send nothing", () => {
  function openSilently(port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port }, () => resolve(socket));
      socket.on("error", reject);
    });
  }

  test("a silent client does not hold up others, and is counted once when it leaves", NEEDS_CURL, async () => {
    const testHost = await startTestHost();
    try {
      const silent = await openSilently(testHost.mainPort);
      const served = await curl([`localhost:${testHost.mainPort}`, "--data", "[initial body]"]);
      assert.equal(served.stdout, "example body\n");
      while (testHost.host.plugins[0].activeConnections !== 1) await new Promise((resolve) => setImmediate(resolve));

      silent.end();
      await testHost.host.whenIdle();
      assert.equal(testHost.host.openConnections, 0);
      assert.equal(testHost.host.plugins[0].activeConnections, 0);
      assert.equal(testHost.host.stats.get("wasmcustom.connection_counter"), 2n);
      assert.equal(testHost.host.stats.get("wasmcustom.connection_active"), 0n);
      const silentDone = wasmMessages(testHost.logs).filter((line) => / connection 2: done: /.test(line));
      assert.equal(silentDone.length, 1);
      assert.match(silentDone[0], /connection 2: done: 0 bytes from downstream, \d+ bytes from upstream, \d+ ms$/);
    } finally {
      await testHost.host.close();
    }
  });
});
