// The subset of Envoy's bootstrap configuration the local host implements, as a typed model.
// The loader (load.ts) produces it from a YAML file that passed the strict validator; the
// network side builds listeners and clusters from it. Nothing here knows about YAML or protobuf.

/** A JSON value as found in google.protobuf.Struct (filter metadata). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface SocketAddress {
  address: string;
  port: number;
}

export interface Metadata {
  /** metadata.filter_metadata: namespace -> Struct */
  filterMetadata: Record<string, JsonObject>;
}

export type FailurePolicy = "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";

/** vm_config.code.local.filename */
export interface LocalWasmCode {
  kind: "local";
  /** exactly as written, e.g. /etc/envoy/plugin/main.wasm */
  filename: string;
}

/** vm_config.code.remote: fetched over HTTP through a cluster before the listeners start. */
export interface RemoteWasmCode {
  kind: "remote";
  /** http_uri.uri: its authority and path make the request */
  uri: string;
  /** http_uri.cluster: where the request goes */
  cluster: string;
  /** http_uri.timeout in ms, for the whole response; 0 is none */
  timeoutMs: number;
  /** the lowercase hex digest the body must have, exactly as written */
  sha256: string;
  /** retry_policy.num_retries: attempts after the first, 1 when unspecified */
  numRetries: number;
  /** retry_policy.retry_back_off in ms: base_interval (1000) and max_interval (10 × base) */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export type WasmCode = LocalWasmCode | RemoteWasmCode;

/** envoy.extensions.filters.network.wasm.v3.Wasm */
export interface WasmFilterConfig {
  kind: "wasm";
  /** the filter's name in the chain, e.g. envoy.filters.network.wasm */
  filterName: string;
  /** PluginConfig.name */
  name: string;
  /** PluginConfig.root_id */
  rootId: string;
  /** PluginConfig.vm_config.vm_id */
  vmId: string;
  /** PluginConfig.vm_config.runtime, e.g. envoy.wasm.runtime.v8 */
  runtime: string;
  /** vm_config.code */
  code: WasmCode;
  /** PluginConfig.configuration: the raw string of a google.protobuf.StringValue ("" when absent) */
  configuration: string;
  /** vm_config.configuration, likewise */
  vmConfiguration: string;
  /** failure_policy, with the legacy fail_open folded in; FAIL_CLOSED when unspecified */
  failurePolicy: FailurePolicy;
  /**
   * The deprecated fail_open: true. Besides new connections (failurePolicy FAIL_OPEN), it keeps
   * the connections already open on a failed VM passing traffic; failure_policy: FAIL_OPEN
   * does not (Envoy builds its plugin with fail_open alone).
   */
  legacyFailOpen: boolean;
  /** reload_config.backoff.base_interval in ms (FAIL_RELOAD), 1000 when unspecified */
  reloadBackoffMs: number;
}

/** envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy */
export interface TcpProxyConfig {
  kind: "tcp_proxy";
  filterName: string;
  statPrefix: string;
  cluster: string;
  /** idle_timeout in ms: 1 hour when unspecified, 0 (`0s`) for none */
  idleTimeoutMs: number;
}

/** A route's HeaderMatcher with a string_match: exactly one of exact / prefix is set. */
export interface HeaderMatch {
  /** the header's name, lower case */
  name: string;
  exact?: string;
  prefix?: string;
  /** string_match.ignore_case */
  ignoreCase: boolean;
  /** the route matches when no value of the header does (and the header is there) */
  invertMatch: boolean;
}

/** A route of the HTTP connection manager that answers with a direct response. */
export interface DirectResponseRoute {
  /** the virtual host's domains, e.g. ["*"] */
  domains: string[];
  /** exactly one of prefix / path is set */
  prefix?: string;
  path?: string;
  /** match.headers: every one must match the request (Envoy's HeaderMatcher, §16); none when absent */
  headers?: HeaderMatch[];
  status: number;
  /** direct_response.body.inline_string, "" when absent */
  body: string;
}

/** envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager */
export interface HttpConnectionManagerConfig {
  kind: "http_connection_manager";
  filterName: string;
  statPrefix: string;
  routes: DirectResponseRoute[];
  /** stream_idle_timeout in ms: 5 minutes when unspecified, 0 for none */
  streamIdleTimeoutMs: number;
  /** common_http_protocol_options.idle_timeout in ms (a connection with no request): 1 hour when unspecified, 0 for none */
  idleTimeoutMs: number;
}

export type NetworkFilterConfig = WasmFilterConfig | TcpProxyConfig | HttpConnectionManagerConfig;

/** A PROXY protocol version, as envoy.config.core.v3.ProxyProtocolConfig.Version names it. */
export type ProxyProtocolVersion = "V1" | "V2";

/** envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol */
export interface ProxyProtocolListenerFilter {
  kind: "proxy_protocol";
  /** the filter's name in listener_filters, e.g. envoy.filters.listener.proxy_protocol */
  filterName: string;
  /** let connections without a PROXY header through as they are */
  allowRequestsWithoutProxyProtocol: boolean;
  /** versions refused even when well-formed */
  disallowedVersions: ProxyProtocolVersion[];
  /** inserted in the stats' names: proxy_proto.<stat_prefix>.*; "" for none */
  statPrefix: string;
}

export type ListenerFilterConfig = ProxyProtocolListenerFilter;

export interface ListenerConfig {
  name: string;
  address: SocketAddress;
  /** listener_filters, in order: they run on each accepted socket before its filter chain */
  listenerFilters: ListenerFilterConfig[];
  /** listener_filters_timeout in ms: 15 s when unspecified, 0 (`0s`) for none */
  listenerFiltersTimeoutMs: number;
  /** continue_on_listener_filters_timeout: a timed-out socket gets its connection anyway */
  continueOnListenerFiltersTimeout: boolean;
  /** the single filter chain's filters, in order; the last one is terminal */
  filters: NetworkFilterConfig[];
}

export interface EndpointConfig {
  address: SocketAddress;
  /** lb_endpoints[].metadata (upstream host metadata); empty when absent */
  metadata: Metadata;
}

export interface ClusterConfig {
  name: string;
  type: "STATIC";
  lbPolicy: "ROUND_ROBIN";
  connectTimeoutMs: number;
  endpoints: EndpointConfig[];
  metadata: Metadata;
}

export interface AdminConfig {
  address: SocketAddress;
}

export interface EnvoyConfig {
  admin: AdminConfig;
  listeners: ListenerConfig[];
  clusters: ClusterConfig[];
}
