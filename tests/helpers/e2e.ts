// Starting the local host for the end-to-end tests: free ports, the log captured, and reading
// what the plugin logged and counted.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createLogger } from "../../host/log.ts";
import type { LogLevelName } from "../../host/loggers.ts";
import { startLocalHost, type LocalHostOptions, type RunningHost } from "../../host/local-host.ts";
import { BUILD_FOLDER, ENVOY_YAML, TCP_GUARD_YAML } from "./e2e-paths.ts";

export interface TestHost {
  host: RunningHost;
  /** every log line the host printed, in order */
  logs: string[];
  /** the port of listener `main` (wasm + tcp_proxy) */
  mainPort: number;
}

/** The local host with envoy/envoy.yaml and build/main.wasm, every port free, its log captured. */
export async function startTestHost(options: Partial<LocalHostOptions> & { wasmLogLevel?: LogLevelName } = {}): Promise<TestHost> {
  const logs: string[] = [];
  const { wasmLogLevel, ...hostOptions } = options;
  const logger = createLogger({
    level: "info",
    componentLevels: wasmLogLevel === undefined ? {} : { wasm: wasmLogLevel },
    write: (line) => logs.push(line),
  });
  const host = await startLocalHost({
    configPath: ENVOY_YAML,
    pluginFolder: BUILD_FOLDER,
    listenerPorts: { main: 0, staticreply: 0 },
    adminPort: 0,
    logger,
    ...hostOptions,
  });
  return { host, logs, mainPort: host.listenerPorts.main };
}

/** Lines of the plugin's log (`wasm log ...`), with the timestamp and source left out. */
export function wasmMessages(logs: string[]): string[] {
  return logs.filter((line) => line.includes("] wasm log ")).map((line) => line.slice(line.indexOf("wasm log ")));
}

/** A value of the admin /stats text, e.g. `wasmcustom.connection_counter`. */
export function statLine(statsText: string, name: string): string | undefined {
  return statsText.split("\n").find((line) => line.startsWith(`${name}: `));
}

/** Values of the running host's admin /stats, one per name (undefined for a stat it lacks). */
export async function adminStats(testHost: TestHost, ...names: string[]): Promise<Array<string | undefined>> {
  const text = await (await fetch(`http://127.0.0.1:${testHost.host.adminPort}/stats`)).text();
  return names.map((name) => statLine(text, name));
}

/** tcp_guard's configuration as examples/tcp_guard/envoy.yaml ships it. */
const SHIPPED_GUARD_CONFIGURATION = '{"deny_sources": [], "max_downstream_bytes": 1048576, "proxy_protocol": true}';

/** examples/tcp_guard/envoy.yaml with the guard's configuration replaced, written to `folder` as `<name>.yaml`. */
export function tcpGuardConfig(folder: string, name: string, configuration: string): string {
  const text = fs.readFileSync(TCP_GUARD_YAML, "utf8");
  assert.ok(text.includes(`value: '${SHIPPED_GUARD_CONFIGURATION}'`), "examples/tcp_guard/envoy.yaml's guard configuration is the one shipped");
  const file = path.join(folder, `${name}.yaml`);
  fs.writeFileSync(file, text.replace(`value: '${SHIPPED_GUARD_CONFIGURATION}'`, `value: '${configuration}'`));
  return file;
}
