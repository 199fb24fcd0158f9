// The protobuf message types the loader and the start-up checks name, each written once: the
// `@type` of a typed_config is `type.googleapis.com/` followed by one of these.

export const WASM = "envoy.extensions.filters.network.wasm.v3.Wasm";
export const TCP_PROXY = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
export const HTTP_CONNECTION_MANAGER = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
export const ROUTER = "envoy.extensions.filters.http.router.v3.Router";
export const STRING_VALUE = "google.protobuf.StringValue";
