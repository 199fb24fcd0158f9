// vm_config.code.remote as Envoy fetches it (docs/envoy-host.md §12): a GET of http_uri through
// its cluster, answered within http_uri.timeout, a body of at most Envoy's async client response
// limit; a 200 with a non-empty body whose sha256 is exactly the configured one, else a failure;
// num_retries more attempts after jittered exponential back-offs. The listeners wait for it, as
// Envoy's init manager makes them wait. Envoy's messages are logged with its loggers, levels and
// sources. A module that does not compile stops the host naming the URI and the reason.

import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ClusterConfig, ListenerConfig, RemoteWasmCode, WasmFilterConfig } from "./config/model.ts";
import { MAIN_THREAD, type Logger } from "./log.ts";

const SOURCE = {
  unstable: "source/extensions/common/wasm/wasm.cc:325",
  start: "source/common/config/remote_data_fetcher.cc:35",
  noCluster: "source/common/config/remote_data_fetcher.cc:43",
  success: "source/common/config/remote_data_fetcher.cc:52",
  invalid: "source/common/config/remote_data_fetcher.cc:58",
  empty: "source/common/config/remote_data_fetcher.cc:64",
  status: "source/common/config/remote_data_fetcher.cc:68",
  networkError: "source/common/config/remote_data_fetcher.cc:78",
  failed: "source/extensions/common/wasm/remote_async_datasource.h:50",
  retryLimit: "source/extensions/common/wasm/remote_async_datasource.h:52",
  retryIn: "source/extensions/common/wasm/remote_async_datasource.h:62",
  /** AsyncRequestSharedImpl::onData (envoy 02a45cb) */
  responseOverLimit: "source/common/http/async_client_impl.cc:456",
};
/** Config::DataFetcher::FailureReason */
const FailureReason = { Network: 0, InvalidData: 1 } as const;
/** Http::AsyncClient::FailureReason::Reset: the response broke off after its headers. */
const ASYNC_CLIENT_RESET = 0;
/** Http::AsyncClient::FailureReason::ExceedResponseBufferLimit: the body passed the limit below. */
const ASYNC_CLIENT_EXCEED_RESPONSE_BUFFER_LIMIT = 1;
/**
 * The most body Envoy's async client buffers (kBufferLimitForResponse, 32 MiB, runtime key
 * http.async_response_buffer_limit; Envoy 1.31, 1.30.2, 1.29.5, 1.28.4, 1.27.6 and later). A body
 * one byte longer fails the attempt; the local host has no runtime layer to raise it.
 */
export const ASYNC_RESPONSE_BUFFER_LIMIT = 32 * 1024 * 1024;
/** The router's local replies the async client hands back as responses. */
const NO_UPSTREAM = 503;
const TIMEOUT = 504;

/** The code could not be fetched within the retries; the message says why, in one line. */
export class RemoteCodeError extends Error {
  override name = "RemoteCodeError";
}

class FetchFailure extends Error {
  constructor(
    readonly reason: number,
    /** what Envoy logs for it, after `fetch remote data [uri = …]: ` */
    readonly envoyMessage: string,
    readonly source: string,
    /** more for the user than Envoy says */
    readonly detail = "",
  ) {
    super(envoyMessage);
  }
}

/** The wasm filters' code.remote modules, fetched into a scratch folder the plugins load them from. */
export class RemoteModules {
  private readonly paths = new Map<WasmFilterConfig, string>();
  private folder: string | undefined;

  /**
   * Fetches every wasm filter's code.remote at once; throws RemoteCodeError naming the plugin.
   * `stop` gives the fetches up (the host is shutting down): the request, its timers and the
   * back-off end at once, and the promise rejects with the signal's reason.
   */
  static async fetch(listeners: ListenerConfig[], clusters: ClusterConfig[], logger: Logger, stop?: AbortSignal): Promise<RemoteModules> {
    const modules = new RemoteModules();
    const filters = listeners.flatMap((listener) => listener.filters);
    try {
      await Promise.all(filters.map((filter) => (filter.kind === "wasm" ? modules.add(filter, clusters, logger, stop) : undefined)));
    } catch (error) {
      modules.remove();
      throw error;
    }
    return modules;
  }

  private async add(filter: WasmFilterConfig, clusters: ClusterConfig[], logger: Logger, stop?: AbortSignal): Promise<void> {
    if (filter.code.kind !== "remote") return;
    let bytes: Buffer;
    try {
      bytes = await fetchRemoteCode(filter.code, clusters, logger, stop);
    } catch (error) {
      if (error instanceof RemoteCodeError) throw new RemoteCodeError(`plugin '${filter.name}': ${error.message}`);
      throw error;
    }
    // Checked here, where the URI is known: loaded from the scratch file, a module that does not
    // compile would be named by a path that is gone once the host stops.
    const compileError = wasmCompileError(bytes);
    if (compileError !== undefined) {
      throw new RemoteCodeError(`Unable to create Wasm plugin ${filter.name}: Failed to load Wasm code from ${filter.code.uri}: ${compileError}`);
    }
    this.folder ??= mkdtempSync(join(tmpdir(), "local-host-remote-code-"));
    const path = join(this.folder, `${filter.code.sha256}.wasm`);
    writeFileSync(path, bytes);
    this.paths.set(filter, path);
  }

  /** Where the filter's fetched module is, or undefined for code.local. */
  pathOf(filter: WasmFilterConfig): string | undefined {
    return this.paths.get(filter);
  }

  /** The plugins hold their compiled modules: the files can go once the plugins have started. */
  remove(): void {
    if (this.folder !== undefined) rmSync(this.folder, { recursive: true, force: true });
    this.folder = undefined;
  }
}

/** Why V8 will not compile the bytes (its own message), or undefined when it will. */
function wasmCompileError(bytes: Buffer): string | undefined {
  // a copy: WebAssembly's types take an ArrayBuffer's bytes, a Buffer's may be a SharedArrayBuffer's
  const view = new Uint8Array(bytes);
  if (WebAssembly.validate(view)) return undefined;
  try {
    new WebAssembly.Module(view);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return "not a WebAssembly module";
}

/** The module's bytes; throws RemoteCodeError once every attempt has failed. */
export async function fetchRemoteCode(code: RemoteWasmCode, clusters: ClusterConfig[], logger: Logger, stop?: AbortSignal): Promise<Buffer> {
  logger.log("wasm", "warn", SOURCE.unstable, "Wasm remote code fetch is unstable and may cause a crash", MAIN_THREAD);
  const backoff = new JitteredExponentialBackoff(code.backoffBaseMs, code.backoffMaxMs);
  for (let attempt = 0; ; attempt++) {
    try {
      stop?.throwIfAborted();
      return await fetchOnce(code, clusters.find((cluster) => cluster.name === code.cluster), attempt, logger, stop);
    } catch (error) {
      if (!(error instanceof FetchFailure)) throw error;
      const log = (level: "debug" | "warn", source: string, message: string) => logger.log("config", level, source, message, MAIN_THREAD);
      log("debug", error.source, `fetch remote data [uri = ${code.uri}]: ${error.envoyMessage}`);
      log("debug", SOURCE.failed, `Failed to fetch remote data, failure reason: ${error.reason}`);
      if (attempt === code.numRetries) {
        log("warn", SOURCE.retryLimit, "Retry limit exceeded for fetching data from remote data source.");
        const attempts = `${attempt + 1} attempt${attempt === 0 ? "" : "s"}`;
        throw new RemoteCodeError(`fetch remote data [uri = ${code.uri}]: ${error.envoyMessage}${error.detail} (${attempts})`);
      }
      const delayMs = backoff.nextMs();
      log("debug", SOURCE.retryIn, `Remote data provider will retry in ${delayMs} ms.`);
      await sleep(delayMs, undefined, { signal: stop });
    }
  }
}

async function fetchOnce(
  code: RemoteWasmCode,
  cluster: ClusterConfig | undefined,
  attempt: number,
  logger: Logger,
  stop: AbortSignal | undefined,
): Promise<Buffer> {
  logger.log("config", "debug", SOURCE.start, `fetch remote data from [uri = ${code.uri}]: start`, MAIN_THREAD);
  if (cluster === undefined) throw new FetchFailure(FailureReason.Network, `no cluster ${code.cluster}`, SOURCE.noCluster);
  const { status, body } = await get(code, cluster, attempt, logger, stop);
  if (status !== 200) {
    throw new FetchFailure(FailureReason.Network, `response status code ${status}`, SOURCE.status, status === TIMEOUT ? ` (no answer within ${code.timeoutMs} ms)` : "");
  }
  logger.log("config", "debug", SOURCE.success, `fetch remote data [uri = ${code.uri}]: success`, MAIN_THREAD);
  if (body.length === 0) throw new FetchFailure(FailureReason.Network, "body is empty", SOURCE.empty);
  const sha256 = createHash("sha256").update(body).digest("hex");
  // Envoy compares the strings as they are: an upper-case digest in the config never matches.
  if (sha256 !== code.sha256) {
    throw new FetchFailure(FailureReason.InvalidData, "data is invalid", SOURCE.invalid, `: its sha256 is ${sha256}, code.remote.sha256 is ${code.sha256}`);
  }
  return body;
}

interface Response {
  status: number;
  body: Buffer;
}

/**
 * GET the uri's path from one of the cluster's endpoints, round robin, with the uri's authority
 * as Host. As in Envoy's async client, a refused or failed connection is a 503 and no answer in
 * time a 504 (the router's local replies); a response cut off after its headers is a reset; a
 * body, of any status, that passes ASYNC_RESPONSE_BUFFER_LIMIT is dropped as it passes it.
 */
function get(code: RemoteWasmCode, cluster: ClusterConfig, attempt: number, logger: Logger, stop: AbortSignal | undefined): Promise<Response> {
  const endpoint = cluster.endpoints[attempt % Math.max(1, cluster.endpoints.length)];
  if (endpoint === undefined) return Promise.resolve({ status: NO_UPSTREAM, body: Buffer.alloc(0) });
  const uri = new URL(code.uri);
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (outcome: Response | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(connectTimer);
      stop?.removeEventListener("abort", stopped);
      req.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const stopped = () => finish(stop!.reason instanceof Error ? stop!.reason : new Error(String(stop!.reason)));
    const failed = () => finish({ status: NO_UPSTREAM, body: Buffer.alloc(0) });
    const req = request({
      host: endpoint.address.address,
      port: endpoint.address.port,
      method: "GET",
      path: uri.pathname + uri.search,
      headers: { host: uri.host },
      agent: false,
    });
    const timer = code.timeoutMs > 0 ? setTimeout(() => finish({ status: TIMEOUT, body: Buffer.alloc(0) }), code.timeoutMs) : undefined;
    const connectTimer = setTimeout(failed, cluster.connectTimeoutMs);
    req.on("socket", (socket) => socket.once("connect", () => clearTimeout(connectTimer)));
    req.on("error", failed);
    stop?.addEventListener("abort", stopped);
    req.on("response", (response) => {
      const chunks: Buffer[] = [];
      let received = 0;
      response.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received <= ASYNC_RESPONSE_BUFFER_LIMIT) {
          chunks.push(chunk);
          return;
        }
        logResponseOverLimit(logger);
        finish(
          new FetchFailure(
            FailureReason.Network,
            `network error ${ASYNC_CLIENT_EXCEED_RESPONSE_BUFFER_LIMIT}`,
            SOURCE.networkError,
            ` (the response passed ${ASYNC_RESPONSE_BUFFER_LIMIT} bytes, the most Envoy's async client buffers)`,
          ),
        );
      });
      response.on("end", () => finish({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on("aborted", () => finish(new FetchFailure(FailureReason.Network, `network error ${ASYNC_CLIENT_RESET}`, SOURCE.networkError)));
      response.on("error", () => finish(new FetchFailure(FailureReason.Network, `network error ${ASYNC_CLIENT_RESET}`, SOURCE.networkError)));
    });
    req.end();
  });
}

/** How often the warning has been due: Envoy's ENVOY_LOG_EVERY_POW_2 counts per process. */
let responsesOverLimit = 0;

/** Envoy's warning, printed the 1st, 2nd, 4th, 8th… time, as ENVOY_LOG_EVERY_POW_2 does. */
function logResponseOverLimit(logger: Logger): void {
  // Envoy counts only while the level is on (the macro tests ENVOY_LOG_COMP_LEVEL first).
  if (!logger.enabled("http", "warn")) return;
  responsesOverLimit += 1;
  if ((responsesOverLimit & (responsesOverLimit - 1)) !== 0) return;
  logger.log("http", "warn", SOURCE.responseOverLimit, "the buffer size limit for async client response body has been exceeded, draining data", MAIN_THREAD);
}

/**
 * Envoy's JitteredExponentialBackOffStrategy (source/common/common/backoff_strategy.cc): a random
 * delay below the current interval, which doubles up to the maximum after each use.
 */
class JitteredExponentialBackoff {
  private nextIntervalMs: number;

  constructor(baseMs: number, private readonly maxMs: number) {
    this.nextIntervalMs = baseMs;
  }

  nextMs(): number {
    const interval = this.nextIntervalMs;
    this.nextIntervalMs = Math.min(interval * 2, this.maxMs);
    return Math.floor(Math.random() * interval);
  }
}
