// The local host, started from code: the config loaded, the wasm plugins started, admin and the
// listeners bound. The command line (cli.ts), the end-to-end tests and the benchmarks start it
// through startLocalHost.

import { existsSync } from "node:fs";
import type { CallMarker } from "./call-marker.ts";
import { createAdminServer } from "./admin.ts";
import type { BoundListener } from "./admin/listeners.ts";
import type { CommandLineOptions, ServerState } from "./admin/server-info.ts";
import { loadEnvoyConfig } from "./config/load.ts";
import type { EnvoyConfig, ListenerConfig, WasmFilterConfig } from "./config/model.ts";
import { createLogger, MAIN_THREAD, type AdjustableLogger } from "./log.ts";
import { formatAddress } from "./address.ts";
import { ClusterHttpClient } from "./net/http/async-client.ts";
import { bindAddressFor } from "./net/listener/bind-address.ts";
import { UpstreamCluster } from "./net/tcp-proxy/cluster.ts";
import { closeServer, listen } from "./net/listener/listen.ts";
import { startListeners, type RunningListeners } from "./net/listeners.ts";
import { resolvePluginPath, whyPluginMissing } from "./paths.ts";
import { RemoteCodeError, RemoteModules } from "./remote-code.ts";
import { createStatsStore, type StatsStore } from "./stats.ts";
import {
  SharedData,
  startWasmPlugin,
  traceLines,
  type HttpCallDispatcher,
  type PropertyNames,
  type TraceListener,
  type WasmPlugin,
} from "./wasm/api.ts";

export interface LocalHostOptions {
  /** the Envoy bootstrap, e.g. envoy/envoy.yaml */
  configPath: string;
  /** where /etc/envoy/plugin/ files are on this machine, e.g. ./build */
  pluginFolder: string;
  /** worker VMs per plugin (--concurrency); 1 when absent */
  concurrency?: number;
  /** Envoy-format log lines, their levels changeable by admin /logging; info to stderr when absent */
  logger?: AdjustableLogger;
  /** -l and --component-log-level as given, for admin /server_info */
  logLevelOption?: string;
  componentLogLevelOption?: string;
  propertyNames?: PropertyNames;
  /** print every ABI call */
  trace?: boolean;
  /** where trace lines go; process.stderr when absent */
  traceWrite?: (line: string) => void;
  /** what wildcard addresses (0.0.0.0, ::) bind to; 127.0.0.1 when absent */
  bindAddress?: string;
  /** leave the wasm filters out of every chain (tcp_proxy alone), e.g. to measure their cost */
  withoutWasm?: boolean;
  /** listener name → port instead of the configured one (0: any free port); clusters follow */
  listenerPorts?: Record<string, number>;
  /** admin port instead of the configured one (0: any free port) */
  adminPort?: number;
  /** marks every call into a plugin for the command line's watchdog (cli.ts); absent in tests and benchmarks */
  callMarker?: CallMarker;
  /**
   * A stop asked for while the host starts (a signal): the code.remote fetches it waits for are
   * given up, and startLocalHost rejects with StoppedWhileStartingError. Once it has resolved,
   * stop it with close().
   */
  stop?: AbortSignal;
}

export interface RunningHost {
  /** listener name → bound port */
  readonly listenerPorts: Record<string, number>;
  readonly adminPort: number;
  readonly stats: StatsStore;
  /** the wasm plugins, in listener and chain order */
  readonly plugins: WasmPlugin[];
  /** tcp_proxy connections with a socket still open */
  readonly openConnections: number;
  /** resolves once no tcp_proxy connection holds a socket */
  whenIdle(): Promise<void>;
  /** stop listening, end open connections, close the plugins; the same promise on every call */
  close(): Promise<void>;
  /** resolves once the host has closed, through close() or admin POST /quitquitquit */
  readonly closed: Promise<void>;
}

/** The plugin module a config names is not on this machine. */
export class MissingPluginError extends Error {
  override name = "MissingPluginError";
}

/** The host was asked to stop before it was up; it has logged its shutdown. */
export class StoppedWhileStartingError extends Error {
  override name = "StoppedWhileStartingError";
}

/** The local host's own source, for the lines it logs that Envoy has no equivalent for. */
const HOST_SOURCE = "host/local-host.ts";

const SOURCE = {
  admin: "source/server/admin/admin.cc:65",
  listener: "source/common/listener_manager/listener_manager_impl.cc:550",
  workers: "source/common/listener_manager/listener_manager_impl.cc:930",
  dispatch: "source/server/server.cc:1015",
  shutdown: "source/server/server.cc:1050",
};

export async function startLocalHost(options: LocalHostOptions): Promise<RunningHost> {
  const startedAtMs = Date.now();
  const logger = options.logger ?? createLogger({ level: "info", componentLevels: {} });
  const bindAddress = options.bindAddress ?? "127.0.0.1";
  const config = loadEnvoyConfig(options.configPath);
  const stats = createStatsStore();
  // Like Envoy's init manager, nothing starts before every code.remote module has been fetched.
  const remoteModules = options.withoutWasm ? new RemoteModules() : await fetchRemoteModules(config, logger, options.stop);
  let listeners: RunningListeners | undefined;
  // proxy_http_call's clusters are the listeners' ones, built once the listeners are bound (their
  // endpoints follow moved listener ports). Before that (a call in proxy_on_vm_start or
  // proxy_on_configure) Envoy's cluster manager already has them: the config's, with stats of
  // their own, stand in (§19).
  const startupClusters = new Map(config.clusters.map((cluster) => [cluster.name, new UpstreamCluster(cluster, createStatsStore())]));
  const httpCalls = new ClusterHttpClient((name) =>
    listeners === undefined ? startupClusters.get(name) : listeners.clusters.find((cluster) => cluster.info.name === name),
  );
  let pluginsByListener: Map<ListenerConfig, WasmPlugin[]>;
  try {
    pluginsByListener = options.withoutWasm ? new Map() : startPlugins(config.listeners, options, logger, stats, remoteModules, httpCalls);
  } finally {
    remoteModules.remove();
  }
  const plugins = [...pluginsByListener.values()].flat();

  // Envoy's init manager is initializing until every listener is bound: /ready says 503 till then
  let state: ServerState = "INITIALIZING";
  let closing: Promise<void> | undefined;
  let markClosed = () => {};
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const commandLine: CommandLineOptions = {
    concurrency: options.concurrency ?? 1,
    config_path: options.configPath,
    log_level: options.logLevelOption ?? "info",
    component_log_level: options.componentLogLevelOption ?? "",
  };
  const admin = createAdminServer({
    stats,
    logger,
    server: () => ({ state, startedAtMs, commandLine }),
    listeners: (): BoundListener[] => listeners?.bound ?? [],
    clusters: () => listeners?.clusters ?? [],
    quit: () => void close(),
  });

  async function close(): Promise<void> {
    closing ??= (async () => {
      logger.log("main", "info", SOURCE.shutdown, "shutting down server instance", MAIN_THREAD);
      const adminClosed = closeServer(admin);
      admin.closeAllConnections();
      await Promise.all([adminClosed, listeners?.close()]);
      for (const plugin of plugins) plugin.close();
      logger.log("main", "info", SOURCE.shutdown, "exiting", MAIN_THREAD);
      markClosed();
    })();
    return closing;
  }

  try {
    const adminAddress = bindAddressFor(config.admin.address.address, bindAddress);
    const adminPort = await listen(admin, "admin", adminAddress, options.adminPort ?? config.admin.address.port);
    logger.log("admin", "info", SOURCE.admin, `admin address: ${formatAddress(adminAddress, adminPort)}`, MAIN_THREAD);
    if (!isLoopback(adminAddress)) {
      logger.log(
        "admin",
        "warn",
        HOST_SOURCE,
        `admin on ${formatAddress(adminAddress, adminPort)} is reachable from other machines and has no authentication: ` +
          "anyone who reaches it can read the stats, change log levels and stop the host (POST /quitquitquit)",
        MAIN_THREAD,
      );
    }
    logger.log("main", "info", SOURCE.dispatch, "starting main dispatch loop", MAIN_THREAD);
    listeners = await startListeners({
      config,
      filtersOf: (listener) => pluginsByListener.get(listener) ?? [],
      bindAddress,
      portOverrides: options.listenerPorts,
      stats,
    });
    for (const { name, address, port } of listeners.bound) {
      logger.log("config", "info", SOURCE.listener, `listener '${name}' on ${formatAddress(address, port)}`, MAIN_THREAD);
    }
    logger.log("config", "info", SOURCE.workers, "all dependencies initialized. starting workers", MAIN_THREAD);
    state = "LIVE";
    const running = listeners;
    return {
      listenerPorts: Object.fromEntries(running.bound.map(({ name, port }) => [name, port])),
      adminPort,
      stats,
      plugins,
      get openConnections() {
        return running.openConnections;
      },
      whenIdle: () => running.whenIdle(),
      close,
      closed,
    };
  } catch (error) {
    await closeServer(admin);
    for (const plugin of plugins) plugin.close();
    throw error;
  }
}

/** One plugin per wasm filter of each listener, in chain order; all closed again if one fails. */
function startPlugins(
  listeners: ListenerConfig[],
  options: LocalHostOptions,
  logger: AdjustableLogger,
  stats: StatsStore,
  remoteModules: RemoteModules,
  httpCalls: HttpCallDispatcher,
): Map<ListenerConfig, WasmPlugin[]> {
  const started = new Map<ListenerConfig, WasmPlugin[]>();
  const trace: TraceListener | undefined = options.trace
    ? traceLines(options.traceWrite ?? ((line) => process.stderr.write(line + "\n")))
    : undefined;
  // One store for the process, as cpp-host's global shared data: plugins with the same vm_id share it (§20).
  const sharedData = new SharedData();
  try {
    for (const listener of listeners) {
      const plugins: WasmPlugin[] = [];
      started.set(listener, plugins);
      for (const filter of listener.filters) {
        if (filter.kind !== "wasm") continue;
        plugins.push(
          startWasmPlugin({
            plugin: filter,
            wasmPath: remoteModules.pathOf(filter) ?? findPluginModule(filter, options.pluginFolder),
            concurrency: options.concurrency ?? 1,
            logger,
            stats,
            propertyNames: options.propertyNames ?? "current",
            trace,
            callMarker: options.callMarker,
            httpCalls,
            sharedData,
          }),
        );
      }
    }
  } catch (error) {
    for (const plugin of [...started.values()].flat()) plugin.close();
    throw error;
  }
  return started;
}

/** 127.0.0.0/8 and ::1 (also as an IPv4-mapped IPv6 address). */
function isLoopback(address: string): boolean {
  return address === "::1" || /^(::ffff:)?127\./.test(address);
}

/**
 * Envoy's signal handlers run while its init manager waits for code.remote: a signal then shuts
 * it down, the fetch given up (RunHelper in source/server/server.cc).
 */
async function fetchRemoteModules(config: EnvoyConfig, logger: AdjustableLogger, stop: AbortSignal | undefined): Promise<RemoteModules> {
  try {
    return await RemoteModules.fetch(config.listeners, config.clusters, logger, stop);
  } catch (error) {
    if (stop?.aborted) {
      logger.log("main", "info", SOURCE.shutdown, "shutting down server instance", MAIN_THREAD);
      logger.log("main", "info", SOURCE.shutdown, "exiting", MAIN_THREAD);
      throw new StoppedWhileStartingError("stopped while fetching code.remote");
    }
    if (error instanceof RemoteCodeError) throw new MissingPluginError(error.message);
    throw error;
  }
}

function findPluginModule(plugin: WasmFilterConfig, pluginFolder: string): string {
  const filename = plugin.code.kind === "local" ? plugin.code.filename : "";
  const wasmPath = resolvePluginPath(filename, pluginFolder);
  if (!existsSync(wasmPath)) {
    throw new MissingPluginError(`plugin '${plugin.name}': ${whyPluginMissing(filename, pluginFolder, wasmPath)}`);
  }
  return wasmPath;
}
