// Starting the local host for the end-to-end tests: free ports, the log captured, and reading
// what the plugin logged and counted.

import { createLogger } from "../../host/log.ts";
import type { LogLevelName } from "../../host/loggers.ts";
import { startLocalHost, type LocalHostOptions, type RunningHost } from "../../host/local-host.ts";
import { BUILD_FOLDER, ENVOY_YAML } from "./e2e-paths.ts";

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
