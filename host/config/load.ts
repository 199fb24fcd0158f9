// loadEnvoyConfig: reads an envoy.yaml, validates it as Envoy would, and maps the subset the
// local host implements to the typed model (model.ts). A setting Envoy accepts but the local
// host does not implement is refused by name rather than ignored, so that nothing behaves
// differently from Envoy without saying so.

import fs from "node:fs";
import type {
  ClusterConfig, EndpointConfig, EnvoyConfig, FailurePolicy, HttpConnectionManagerConfig, JsonObject,
  JsonValue, ListenerConfig, ListenerFilterConfig, Metadata, NetworkFilterConfig, ProxyProtocolVersion, SocketAddress,
  TcpProxyConfig, WasmFilterConfig, DirectResponseRoute, HeaderMatch, WasmCode,
} from "./model.ts";
import { childPath, ConfigError, type ConfigIssue } from "./issues.ts";
import { checkEnvoyConfig } from "./validate.ts";
import { durationMs } from "./duration.ts";
import { lineNear, list, object } from "./startup-checks.ts";
import { HTTP_CONNECTION_MANAGER, PROXY_PROTOCOL, ROUTER, STRING_VALUE, TCP_PROXY, WASM } from "./type-names.ts";

export { ConfigError } from "./issues.ts";

const TYPE_PREFIX = "type.googleapis.com/";
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_RELOAD_BACKOFF_MS = 1000;
/** tcp_proxy's idle_timeout when unspecified (Envoy's TcpProxy SharedConfig). */
const DEFAULT_TCP_IDLE_TIMEOUT_MS = 60 * 60 * 1000;
/** The HTTP connection manager's stream_idle_timeout and connection idle_timeout when unspecified. */
const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 5 * 60 * 1000;
const DEFAULT_HTTP_IDLE_TIMEOUT_MS = 60 * 60 * 1000;
/** listener_filters_timeout when unspecified (envoy.config.listener.v3.Listener). */
const DEFAULT_LISTENER_FILTERS_TIMEOUT_MS = 15 * 1000;

// Envoy's defaults for fetching code.remote (source/extensions/common/wasm/remote_async_datasource.cc).
const DEFAULT_REMOTE_RETRIES = 1;
const DEFAULT_REMOTE_BACKOFF_BASE_MS = 1000;
const DEFAULT_REMOTE_BACKOFF_MAX_MS = 10 * 1000;
/** Unset max_interval: ten times base_interval (Config::Utility::buildJitteredExponentialBackOffStrategy). */
const BACKOFF_MAX_PER_BASE = 10;

/** The config file cannot be read; the message is one line that names it. */
export class ConfigReadError extends Error {
  override name = "ConfigReadError";
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
};

/** The file's text; only a regular file is read (a directory or a device such as /dev/zero is refused). */
function readConfigFile(file: string): string {
  try {
    const stat = fs.statSync(file);
    if (stat.isDirectory()) throw new ConfigReadError(`cannot read ${file}: it is a directory`);
    if (!stat.isFile()) throw new ConfigReadError(`cannot read ${file}: not a regular file`);
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    if (error instanceof ConfigReadError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? "";
    throw new ConfigReadError(`cannot read ${file}: ${READ_ERRORS[code] ?? (error as Error).message}`);
  }
}

export function loadEnvoyConfig(file: string): EnvoyConfig {
  const checked = checkEnvoyConfig(readConfigFile(file), file);
  if (checked.issues.length > 0) throw new ConfigError(checked.issues);
  const mapper = new ModelMapper(file, checked.lines);
  const config = mapper.bootstrap(checked.value);
  if (mapper.issues.length > 0) throw new ConfigError(mapper.issues);
  return config;
}

class ModelMapper {
  readonly issues: ConfigIssue[] = [];

  constructor(
    private readonly file: string,
    private readonly lines: Map<string, number>,
  ) {}

  bootstrap(bootstrap: JsonObject): EnvoyConfig {
    // node only names this Envoy instance; it changes nothing the local host does.
    this.onlyFields(bootstrap, "", ["admin", "static_resources", "node"]);
    const resources = object(bootstrap.static_resources);
    this.onlyFields(resources, "static_resources", ["listeners", "clusters"]);
    if (bootstrap.admin === undefined) this.refuse("", "a bootstrap without admin");
    const admin = object(bootstrap.admin);
    this.onlyFields(admin, "admin", ["address"]);
    return {
      admin: { address: this.socketAddress(object(admin.address), "admin.address") },
      listeners: list(resources.listeners).map((listener, index) =>
        this.listener(object(listener), `static_resources.listeners[${index}]`),
      ),
      clusters: list(resources.clusters).map((cluster, index) =>
        this.cluster(object(cluster), `static_resources.clusters[${index}]`),
      ),
    };
  }

  private listener(listener: JsonObject, path: string): ListenerConfig {
    this.onlyFields(listener, path, [
      "name", "address", "filter_chains", "stat_prefix", "listener_filters", "listener_filters_timeout", "continue_on_listener_filters_timeout",
    ]);
    const chains = list(listener.filter_chains).map(object);
    if (chains.length !== 1) this.refuse(childPath(path, "filter_chains"), "a listener without exactly one filter chain");
    const chainPath = childPath(path, "filter_chains[0]");
    const chain = chains[0] ?? {};
    this.onlyFields(chain, chainPath, ["filters", "name"]);
    return {
      name: String(listener.name ?? ""),
      address: this.socketAddress(object(listener.address), childPath(path, "address")),
      listenerFilters: list(listener.listener_filters).map((filter, index) =>
        this.listenerFilter(object(filter), `${path}.listener_filters[${index}]`),
      ),
      listenerFiltersTimeoutMs: this.timeoutMs(
        listener.listener_filters_timeout,
        childPath(path, "listener_filters_timeout"),
        DEFAULT_LISTENER_FILTERS_TIMEOUT_MS,
      ),
      continueOnListenerFiltersTimeout: listener.continue_on_listener_filters_timeout === true,
      filters: list(chain.filters).map((filter, index) => this.networkFilter(object(filter), `${chainPath}.filters[${index}]`)),
    };
  }

  /** A listener filter: the local host has envoy.filters.listener.proxy_protocol. */
  private listenerFilter(filter: JsonObject, path: string): ListenerFilterConfig {
    this.onlyFields(filter, path, ["name", "typed_config"]);
    const config = object(filter.typed_config);
    const configPath = childPath(path, "typed_config");
    if (typeName(config) !== PROXY_PROTOCOL) this.refuse(childPath(configPath, "@type"), `listener filter ${typeName(config)}`);
    // rules, pass_through_tlvs: what a v2 header's TLVs become, which the local host does not keep
    this.onlyFields(config, configPath, ["@type", "allow_requests_without_proxy_protocol", "disallowed_versions", "stat_prefix"]);
    return {
      kind: "proxy_protocol",
      filterName: String(filter.name ?? ""),
      allowRequestsWithoutProxyProtocol: config.allow_requests_without_proxy_protocol === true,
      disallowedVersions: list(config.disallowed_versions).map((version) => String(version) as ProxyProtocolVersion),
      statPrefix: String(config.stat_prefix ?? ""),
    };
  }

  private networkFilter(filter: JsonObject, path: string): NetworkFilterConfig {
    const filterName = String(filter.name ?? "");
    const config = object(filter.typed_config);
    const configPath = childPath(path, "typed_config");
    switch (typeName(config)) {
      case WASM:
        return this.wasmFilter(filterName, config, configPath);
      case TCP_PROXY:
        return this.tcpProxy(filterName, config, configPath);
      case HTTP_CONNECTION_MANAGER:
        return this.httpConnectionManager(filterName, config, configPath);
      default:
        this.refuse(childPath(configPath, "@type"), `network filter ${typeName(config)}`);
        // A stand-in only: the refusal makes loadEnvoyConfig throw before the model is used.
        return { kind: "tcp_proxy", filterName, statPrefix: "", cluster: "", idleTimeoutMs: 0 };
    }
  }

  private wasmFilter(filterName: string, wasm: JsonObject, path: string): WasmFilterConfig {
    this.onlyFields(wasm, path, ["@type", "config"]);
    const pluginPath = childPath(path, "config");
    const plugin = object(wasm.config);
    this.onlyFields(plugin, pluginPath, ["name", "root_id", "vm_config", "configuration", "failure_policy", "reload_config", "fail_open"]);
    const vmPath = childPath(pluginPath, "vm_config");
    const vm = object(plugin.vm_config);
    this.onlyFields(vm, vmPath, ["vm_id", "runtime", "code", "configuration"]);
    const reload = object(plugin.reload_config);
    this.onlyFields(reload, childPath(pluginPath, "reload_config"), ["backoff"]);
    const baseInterval = object(reload.backoff).base_interval;
    return {
      kind: "wasm",
      filterName,
      name: String(plugin.name ?? ""),
      rootId: String(plugin.root_id ?? ""),
      vmId: String(vm.vm_id ?? ""),
      runtime: String(vm.runtime ?? ""),
      code: this.wasmCode(object(vm.code), childPath(vmPath, "code")),
      configuration: this.stringValue(plugin.configuration, childPath(pluginPath, "configuration")),
      vmConfiguration: this.stringValue(vm.configuration, childPath(vmPath, "configuration")),
      failurePolicy: failurePolicy(plugin),
      legacyFailOpen: plugin.fail_open === true,
      reloadBackoffMs: typeof baseInterval === "string" ? durationMs(baseInterval) : DEFAULT_RELOAD_BACKOFF_MS,
    };
  }

  /** code.local.filename, or code.remote fetched through a cluster. */
  private wasmCode(code: JsonObject, path: string): WasmCode {
    this.onlyFields(code, path, ["local", "remote"]);
    if (code.remote !== undefined) return this.remoteCode(object(code.remote), childPath(path, "remote"));
    const local = object(code.local);
    this.onlyFields(local, childPath(path, "local"), ["filename"]);
    if (local.filename === undefined) this.refuse(path, "wasm code other than code.local.filename or code.remote");
    return { kind: "local", filename: String(local.filename ?? "") };
  }

  private remoteCode(remote: JsonObject, path: string): WasmCode {
    this.onlyFields(remote, path, ["http_uri", "sha256", "retry_policy"]);
    const httpUri = object(remote.http_uri);
    this.onlyFields(httpUri, childPath(path, "http_uri"), ["uri", "cluster", "timeout"]);
    const retryPath = childPath(path, "retry_policy");
    const retry = object(remote.retry_policy);
    // Envoy's remote data fetch reads only these two of RetryPolicy.
    this.onlyFields(retry, retryPath, ["num_retries", "retry_back_off"]);
    const backoff = object(retry.retry_back_off);
    let backoffBaseMs = DEFAULT_REMOTE_BACKOFF_BASE_MS;
    let backoffMaxMs = DEFAULT_REMOTE_BACKOFF_MAX_MS;
    if (retry.retry_back_off !== undefined) {
      backoffBaseMs = durationMs(String(backoff.base_interval));
      backoffMaxMs = typeof backoff.max_interval === "string" ? durationMs(backoff.max_interval) : backoffBaseMs * BACKOFF_MAX_PER_BASE;
      if (backoffMaxMs < backoffBaseMs) {
        this.issue(childPath(retryPath, "retry_back_off.max_interval"), "max_interval must be greater than or equal to the base_interval");
      }
    }
    return {
      kind: "remote",
      uri: String(httpUri.uri ?? ""),
      cluster: String(httpUri.cluster ?? ""),
      timeoutMs: durationMs(String(httpUri.timeout ?? "0s")),
      sha256: String(remote.sha256 ?? ""),
      numRetries: typeof retry.num_retries === "number" ? retry.num_retries : DEFAULT_REMOTE_RETRIES,
      backoffBaseMs,
      backoffMaxMs,
    };
  }

  /** A plugin or VM configuration: the local host passes a StringValue's raw string only. */
  private stringValue(configuration: JsonValue | undefined, path: string): string {
    if (configuration === undefined) return "";
    const any = object(configuration);
    if (typeName(any) !== STRING_VALUE) {
      this.refuse(childPath(path, "@type"), `a configuration of type ${typeName(any)} (only ${STRING_VALUE})`);
      return "";
    }
    return String(any.value ?? "");
  }

  private tcpProxy(filterName: string, config: JsonObject, path: string): TcpProxyConfig {
    this.onlyFields(config, path, ["@type", "stat_prefix", "cluster", "idle_timeout"]);
    return {
      kind: "tcp_proxy",
      filterName,
      statPrefix: String(config.stat_prefix ?? ""),
      cluster: String(config.cluster ?? ""),
      idleTimeoutMs: this.timeoutMs(config.idle_timeout, childPath(path, "idle_timeout"), DEFAULT_TCP_IDLE_TIMEOUT_MS),
    };
  }

  /** A timeout in whole milliseconds, as Envoy reads the Duration; 0 (`0s`) turns it off. */
  private timeoutMs(duration: JsonValue | undefined, path: string, unspecifiedMs: number): number {
    if (typeof duration !== "string") return unspecifiedMs;
    const ms = durationMs(duration);
    if (ms < 0) this.issue(path, `Expected positive duration: ${duration}`);
    return Math.max(0, Math.floor(ms));
  }

  private httpConnectionManager(filterName: string, config: JsonObject, path: string): HttpConnectionManagerConfig {
    this.onlyFields(config, path, [
      "@type", "stat_prefix", "route_config", "http_filters", "codec_type", "stream_idle_timeout", "common_http_protocol_options",
    ]);
    const protocolOptionsPath = childPath(path, "common_http_protocol_options");
    const protocolOptions = object(config.common_http_protocol_options);
    this.onlyFields(protocolOptions, protocolOptionsPath, ["idle_timeout"]);
    if (config.codec_type !== undefined && config.codec_type !== "AUTO") {
      this.refuse(childPath(path, "codec_type"), `http_connection_manager codec_type ${String(config.codec_type)}`);
    }
    list(config.http_filters).forEach((filter, index) => {
      const filterPath = `${path}.http_filters[${index}]`;
      const typed = object(object(filter).typed_config);
      if (typeName(typed) !== ROUTER) this.refuse(childPath(filterPath, "typed_config.@type"), `HTTP filter ${typeName(typed)}`);
      this.onlyFields(typed, childPath(filterPath, "typed_config"), ["@type"]);
    });
    const routeConfigPath = childPath(path, "route_config");
    const routeConfig = object(config.route_config);
    this.onlyFields(routeConfig, routeConfigPath, ["name", "virtual_hosts"]);
    const routes = list(routeConfig.virtual_hosts).flatMap((host, hostIndex) =>
      this.virtualHostRoutes(object(host), `${routeConfigPath}.virtual_hosts[${hostIndex}]`),
    );
    return {
      kind: "http_connection_manager",
      filterName,
      statPrefix: String(config.stat_prefix ?? ""),
      routes,
      streamIdleTimeoutMs: this.timeoutMs(config.stream_idle_timeout, childPath(path, "stream_idle_timeout"), DEFAULT_STREAM_IDLE_TIMEOUT_MS),
      idleTimeoutMs: this.timeoutMs(protocolOptions.idle_timeout, childPath(protocolOptionsPath, "idle_timeout"), DEFAULT_HTTP_IDLE_TIMEOUT_MS),
    };
  }

  private virtualHostRoutes(host: JsonObject, path: string): DirectResponseRoute[] {
    this.onlyFields(host, path, ["name", "domains", "routes"]);
    const domains = list(host.domains).map(String);
    return list(host.routes).map((entry, index) => {
      const routePath = `${path}.routes[${index}]`;
      const route = object(entry);
      this.onlyFields(route, routePath, ["name", "match", "direct_response"]);
      if (route.direct_response === undefined) this.refuse(routePath, "a route other than direct_response");
      const match = object(route.match);
      this.onlyFields(match, childPath(routePath, "match"), ["prefix", "path", "headers"]);
      const headers = list(match.headers).map((header, headerIndex) =>
        this.headerMatch(object(header), `${childPath(routePath, "match")}.headers[${headerIndex}]`),
      );
      const response = object(route.direct_response);
      this.onlyFields(response, childPath(routePath, "direct_response"), ["status", "body"]);
      const body = object(response.body);
      this.onlyFields(body, childPath(routePath, "direct_response.body"), ["inline_string"]);
      return {
        domains,
        ...(typeof match.prefix === "string" ? { prefix: match.prefix } : {}),
        ...(typeof match.path === "string" ? { path: match.path } : {}),
        ...(headers.length > 0 ? { headers } : {}),
        status: Number(response.status ?? 0),
        body: String(body.inline_string ?? ""),
      };
    });
  }

  /** A HeaderMatcher with a string_match of exact or prefix (the strict schema checks the rest). */
  private headerMatch(header: JsonObject, path: string): HeaderMatch {
    this.onlyFields(header, path, ["name", "string_match", "invert_match"]);
    const stringMatchPath = childPath(path, "string_match");
    const stringMatch = object(header.string_match);
    if (header.string_match === undefined) this.refuse(path, "a header matcher without string_match");
    this.onlyFields(stringMatch, stringMatchPath, ["exact", "prefix", "ignore_case"]);
    return {
      name: String(header.name ?? "").toLowerCase(),
      ...(typeof stringMatch.exact === "string" ? { exact: stringMatch.exact } : {}),
      ...(typeof stringMatch.prefix === "string" ? { prefix: stringMatch.prefix } : {}),
      ignoreCase: stringMatch.ignore_case === true,
      invertMatch: header.invert_match === true,
    };
  }

  private cluster(cluster: JsonObject, path: string): ClusterConfig {
    this.onlyFields(cluster, path, ["name", "type", "lb_policy", "connect_timeout", "load_assignment", "metadata"]);
    // Absent enums are their first value: STATIC and ROUND_ROBIN.
    if (cluster.type !== undefined && cluster.type !== "STATIC") this.refuse(childPath(path, "type"), `cluster type ${String(cluster.type)}`);
    if (cluster.lb_policy !== undefined && cluster.lb_policy !== "ROUND_ROBIN") {
      this.refuse(childPath(path, "lb_policy"), `lb_policy ${String(cluster.lb_policy)}`);
    }
    const assignmentPath = childPath(path, "load_assignment");
    const assignment = object(cluster.load_assignment);
    this.onlyFields(assignment, assignmentPath, ["cluster_name", "endpoints"]);
    const endpoints = list(assignment.endpoints).flatMap((locality, localityIndex) => {
      const localityPath = `${assignmentPath}.endpoints[${localityIndex}]`;
      this.onlyFields(object(locality), localityPath, ["lb_endpoints"]);
      return list(object(locality).lb_endpoints).map((endpoint, index) =>
        this.endpoint(object(endpoint), `${localityPath}.lb_endpoints[${index}]`),
      );
    });
    const timeout = cluster.connect_timeout;
    return {
      name: String(cluster.name ?? ""),
      type: "STATIC",
      lbPolicy: "ROUND_ROBIN",
      connectTimeoutMs: typeof timeout === "string" ? durationMs(timeout) : DEFAULT_CONNECT_TIMEOUT_MS,
      endpoints,
      metadata: this.metadata(cluster.metadata, childPath(path, "metadata")),
    };
  }

  private endpoint(lbEndpoint: JsonObject, path: string): EndpointConfig {
    this.onlyFields(lbEndpoint, path, ["endpoint", "metadata"]);
    const endpoint = object(lbEndpoint.endpoint);
    this.onlyFields(endpoint, childPath(path, "endpoint"), ["address"]);
    return {
      address: this.socketAddress(object(endpoint.address), childPath(path, "endpoint.address")),
      metadata: this.metadata(lbEndpoint.metadata, childPath(path, "metadata")),
    };
  }

  private metadata(metadata: JsonValue | undefined, path: string): Metadata {
    const fields = object(metadata);
    this.onlyFields(fields, path, ["filter_metadata"]);
    const filterMetadata: Record<string, JsonObject> = {};
    for (const [namespace, struct] of Object.entries(object(fields.filter_metadata))) filterMetadata[namespace] = object(struct);
    return { filterMetadata };
  }

  private socketAddress(address: JsonObject, path: string): SocketAddress {
    this.onlyFields(address, path, ["socket_address"]);
    if (address.socket_address === undefined) this.refuse(path, "an address other than socket_address");
    const socket = object(address.socket_address);
    this.onlyFields(socket, childPath(path, "socket_address"), ["address", "port_value", "protocol"]);
    if (socket.protocol !== undefined && socket.protocol !== "TCP") this.refuse(childPath(path, "socket_address.protocol"), `protocol ${String(socket.protocol)}`);
    return { address: String(socket.address ?? ""), port: Number(socket.port_value ?? 0) };
  }

  /** Refuses every set field of `message` that the local host does not implement. */
  private onlyFields(message: JsonObject, path: string, supported: string[]): void {
    for (const field of Object.keys(message)) {
      if (!supported.includes(field)) this.refuse(childPath(path, field), field);
    }
  }

  private refuse(path: string, feature: string): void {
    this.issue(path, `${feature} is not supported by the local host; run it in Envoy with docker-compose up`);
  }

  /** A setting Envoy refuses at start-up, with Envoy's message. */
  private issue(path: string, message: string): void {
    this.issues.push({ file: this.file, line: lineNear(this.lines, path), path, message });
  }
}

function typeName(any: JsonObject): string {
  const url = String(any["@type"] ?? "");
  return url.startsWith(TYPE_PREFIX) ? url.slice(TYPE_PREFIX.length) : url.slice(url.lastIndexOf("/") + 1);
}

/** failure_policy with the deprecated fail_open folded in (both set was refused by validation). */
function failurePolicy(plugin: JsonObject): FailurePolicy {
  switch (plugin.failure_policy) {
    case "FAIL_OPEN":
      return "FAIL_OPEN";
    case "FAIL_RELOAD":
      return "FAIL_RELOAD";
    case "FAIL_CLOSED":
      return "FAIL_CLOSED";
    default:
      return plugin.fail_open === true ? "FAIL_OPEN" : "FAIL_CLOSED";
  }
}
