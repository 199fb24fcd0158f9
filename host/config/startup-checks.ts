// Checks Envoy makes when it builds the server from a bootstrap that is valid proto: names and
// addresses that must be unique, filters of the right kind in the right place, clusters that
// exist, settings that contradict each other. They run on the normalized tree of proto-walk.ts.

import { isIP } from "node:net";
import type { JsonObject, JsonValue } from "./model.ts";
import { childPath, type ConfigIssue } from "./issues.ts";
import { HTTP_CONNECTION_MANAGER, ROUTER, TCP_PROXY, WASM } from "./type-names.ts";

type Report = (path: string, message: string) => void;

const NETWORK_FILTER_PACKAGE = "envoy.extensions.filters.network.";
const HTTP_FILTER_PACKAGE = "envoy.extensions.filters.http.";
/** A typed_config that names its extension by name instead of type: accepted for any kind. */
const TYPED_STRUCTS = new Set(["udpa.type.v1.TypedStruct", "xds.type.v3.TypedStruct"]);
/** Network filters that end a chain (their factories' isTerminalFilter). */
const TERMINAL_NETWORK_FILTERS = new Set([
  TCP_PROXY,
  HTTP_CONNECTION_MANAGER,
  "envoy.extensions.filters.network.direct_response.v3.Config",
  "envoy.extensions.filters.network.echo.v3.Echo",
  "envoy.extensions.filters.network.redis_proxy.v3.RedisProxy",
  "envoy.extensions.filters.network.dubbo_proxy.v3.DubboProxy",
  "envoy.extensions.filters.network.thrift_proxy.v3.ThriftProxy",
]);

export function startupChecks(bootstrap: JsonObject, lines: Map<string, number>, file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const report: Report = (path, message) => issues.push({ file, line: lineNear(lines, path), path, message });
  const resources = object(bootstrap.static_resources);
  const clusters = list(resources.clusters).map(object);
  const clusterNames = new Set(clusters.map((cluster) => String(cluster.name)));

  checkUnique(clusters.map((cluster) => String(cluster.name)), "static_resources.clusters", "name", "cluster", report);
  clusters.forEach((cluster, index) => checkClusterAddresses(cluster, `static_resources.clusters[${index}]`, report));

  const listeners = list(resources.listeners).map(object);
  checkUnique(listeners.map((listener) => String(listener.name ?? "")), "static_resources.listeners", "name", "listener", report);
  checkUnique(listeners.map(listenerAddress), "static_resources.listeners", "address", "listener address", report);
  listeners.forEach((listener, index) => {
    const path = `static_resources.listeners[${index}]`;
    checkIpAddress(object(listener.address), childPath(path, "address"), report);
    list(listener.filter_chains).forEach((chain, chainIndex) => {
      checkNetworkFilters(list(object(chain).filters).map(object), `${path}.filter_chains[${chainIndex}].filters`, clusterNames, report);
    });
  });
  return issues;
}

function checkNetworkFilters(filters: JsonObject[], path: string, clusters: Set<string>, report: Report): void {
  filters.forEach((filter, index) => {
    const filterPath = childPath(path, index);
    const type = filterType(filter, filterPath, NETWORK_FILTER_PACKAGE, "network", report);
    const isLast = index === filters.length - 1;
    if (type && TERMINAL_NETWORK_FILTERS.has(type) && !isLast) {
      report(filterPath, `terminal filter named ${String(filter.name)} of type ${type} must be the last filter in a network filter chain`);
    }
    if (type && !TERMINAL_NETWORK_FILTERS.has(type) && !TYPED_STRUCTS.has(type) && isLast) {
      report(filterPath, `non-terminal filter named ${String(filter.name)} of type ${type} is the last filter in a network filter chain`);
    }
    const config = object(filter.typed_config);
    const configPath = childPath(filterPath, "typed_config");
    if (type === TCP_PROXY) checkTcpProxyClusters(config, configPath, clusters, report);
    if (type === HTTP_CONNECTION_MANAGER) checkHttpConnectionManager(config, configPath, clusters, report);
    if (type === WASM) checkWasmFailurePolicy(object(config.config), childPath(configPath, "config"), report);
  });
}

/** The filter's typed_config type, reported when it is missing or of another kind of filter. */
function filterType(filter: JsonObject, path: string, expectedPackage: string, kind: string, report: Report): string | undefined {
  const typeUrl = object(filter.typed_config)["@type"];
  if (typeof typeUrl !== "string") {
    report(path, `filter ${String(filter.name)} has no typed_config`);
    return undefined;
  }
  const type = typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
  if (!type.startsWith(expectedPackage) && !TYPED_STRUCTS.has(type)) {
    report(childPath(path, "typed_config.@type"), `${type} is not a ${kind} filter configuration`);
  }
  return type;
}

function checkTcpProxyClusters(config: JsonObject, path: string, clusters: Set<string>, report: Report): void {
  if (typeof config.cluster === "string" && !clusters.has(config.cluster)) {
    report(childPath(path, "cluster"), `unknown cluster "${config.cluster}": no cluster of that name is defined`);
  }
  list(object(config.weighted_clusters).clusters).forEach((weighted, index) => {
    const name = object(weighted).name;
    if (typeof name === "string" && !clusters.has(name)) {
      report(`${path}.weighted_clusters.clusters[${index}].name`, `unknown cluster "${name}": no cluster of that name is defined`);
    }
  });
}

function checkHttpConnectionManager(config: JsonObject, path: string, clusters: Set<string>, report: Report): void {
  const filters = list(config.http_filters).map(object);
  filters.forEach((filter, index) => {
    const filterPath = `${path}.http_filters[${index}]`;
    const type = filterType(filter, filterPath, HTTP_FILTER_PACKAGE, "HTTP", report);
    if (type === ROUTER && index !== filters.length - 1) {
      report(filterPath, `terminal filter named ${String(filter.name)} of type ${type} must be the last filter in a http filter chain`);
    }
    if (type && type !== ROUTER && !TYPED_STRUCTS.has(type) && index === filters.length - 1) {
      report(filterPath, `non-terminal filter named ${String(filter.name)} of type ${type} is the last filter in a http filter chain`);
    }
  });
  // A static route table is checked against the clusters it names (validate_clusters).
  list(object(config.route_config).virtual_hosts).forEach((host, hostIndex) => {
    list(object(host).routes).forEach((route, routeIndex) => {
      const cluster = object(object(route).route).cluster;
      if (typeof cluster === "string" && !clusters.has(cluster)) {
        report(`${path}.route_config.virtual_hosts[${hostIndex}].routes[${routeIndex}].route.cluster`, `route: unknown cluster "${cluster}"`);
      }
    });
  });
}

function checkWasmFailurePolicy(plugin: JsonObject, path: string, report: Report): void {
  if (plugin.fail_open === true && plugin.failure_policy !== undefined && plugin.failure_policy !== "UNSPECIFIED") {
    report(childPath(path, "fail_open"), "fail_open and failure_policy cannot both be set; use failure_policy alone");
  }
}

function checkClusterAddresses(cluster: JsonObject, path: string, report: Report): void {
  // STATIC and EDS clusters take IP addresses only; DNS names need STRICT_DNS or LOGICAL_DNS.
  if (cluster.type !== undefined && cluster.type !== "STATIC") return;
  list(object(cluster.load_assignment).endpoints).forEach((locality, localityIndex) => {
    list(object(locality).lb_endpoints).forEach((endpoint, endpointIndex) => {
      const address = object(object(object(endpoint).endpoint).address);
      checkIpAddress(address, `${path}.load_assignment.endpoints[${localityIndex}].lb_endpoints[${endpointIndex}].endpoint.address`, report);
    });
  });
}

function checkIpAddress(address: JsonObject, path: string, report: Report): void {
  const socket = object(address.socket_address);
  if (typeof socket.address === "string" && socket.resolver_name === undefined && isIP(socket.address) === 0) {
    report(`${path}.socket_address.address`, `malformed IP address: ${socket.address}`);
  }
}

function checkUnique(values: string[], path: string, field: string, what: string, report: Report): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    if (value === "") return;
    if (seen.has(value)) report(`${path}[${index}].${field}`, `duplicate ${what} "${value}"`);
    seen.add(value);
  });
}

function listenerAddress(listener: JsonObject): string {
  const socket = object(object(listener.address).socket_address);
  return socket.address === undefined ? "" : `${String(socket.address)}:${String(socket.port_value ?? 0)}`;
}

/** The line of the path, or of its nearest ancestor that has one. */
export function lineNear(lines: Map<string, number>, path: string): number {
  for (let current = path; current !== ""; current = current.replace(/(\.[^.[\]]+|\[\d+\]|^[^.[\]]+)$/, "")) {
    const line = lines.get(current);
    if (line !== undefined) return line;
  }
  return 1;
}

export function object(value: JsonValue | undefined): JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value : {};
}

export function list(value: JsonValue | undefined): JsonValue[] {
  return Array.isArray(value) ? value : [];
}
