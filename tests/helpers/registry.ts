// A real OCI registry on loopback for the tests: Debian's docker-registry (the CNCF distribution
// server) with a throw-away config and storage, on a port that was free a moment before.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  address: string;
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;
/** Only against a registry that hangs: a loaded machine can take many seconds to start one. */
const READY_TIMEOUT_MS = 60_000;

/** A port the kernel just handed out; another process could take it before the registry binds. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function registryConfig(storage: string, port: number): string {
  return [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${storage}`,
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "",
  ].join("\n");
}

/** Resolves once GET /v2/ answers 200; rejects if the registry exits first or takes too long. */
async function waitUntilServing(child: ChildProcess, address: string, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}: ${output()}`);
    try {
      const response = await fetch(`http://${address}/v2/`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`docker-registry did not answer on ${address} within ${READY_TIMEOUT_MS} ms: ${output()}`);
}

export async function startTestRegistry(): Promise<TestRegistry> {
  const scratch = mkdtempSync(join(tmpdir(), "test-registry-"));
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freePort();
    const config = join(scratch, "config.yml");
    writeFileSync(config, registryConfig(join(scratch, "storage"), port));
    const child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
    let output = "";
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
    const address = `127.0.0.1:${port}`;
    try {
      await waitUntilServing(child, address, () => output);
      return {
        address,
        async stop() {
          child.kill("SIGTERM");
          await exited;
          rmSync(scratch, { recursive: true, force: true });
        },
      };
    } catch (error) {
      // Most likely the port was taken in between: try another.
      lastError = error;
      child.kill("SIGKILL");
      await exited;
    }
  }
  rmSync(scratch, { recursive: true, force: true });
  throw lastError;
}
