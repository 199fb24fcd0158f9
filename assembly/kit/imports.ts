// The host imports a filter uses, declared as Envoy names them (docs/envoy-host.md §1) rather than
// taken from proxy-runtime 0.1.8, which lacks proxy_get_log_level (ABI 0.2.1) and
// proxy_set_buffer_bytes (it declares that one under the name proxy_get_buffer_status). A filter
// calls them only through host.ts, which checks every result; the benchmarks' same-calls baseline
// calls them as they are.

// @ts-ignore: decorator
@external("env", "proxy_log")
export declare function proxy_log(level: i32, message: usize, size: usize): i32;
// @ts-ignore: decorator
@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(level_out: usize): i32;
// @ts-ignore: decorator
@external("env", "proxy_get_current_time_nanoseconds")
export declare function proxy_get_current_time_nanoseconds(nanoseconds_out: usize): i32;
// @ts-ignore: decorator
@external("env", "proxy_get_property")
export declare function proxy_get_property(path: usize, path_size: usize, value_out: usize, value_size_out: usize): i32;
// @ts-ignore: decorator
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(buffer: i32, start: u32, length: u32, data_out: usize, size_out: usize): i32;
// @ts-ignore: decorator
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(buffer: i32, start: u32, length: u32, data: usize, size: usize): i32;
// @ts-ignore: decorator
@external("env", "proxy_define_metric")
export declare function proxy_define_metric(type: i32, name: usize, name_size: usize, id_out: usize): i32;
// @ts-ignore: decorator
@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(id: u32, offset: i64): i32;
// @ts-ignore: decorator
@external("env", "proxy_continue_stream")
export declare function proxy_continue_stream(stream: i32): i32;
// @ts-ignore: decorator
@external("env", "proxy_close_stream")
export declare function proxy_close_stream(stream: i32): i32;
// @ts-ignore: decorator
@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(key: usize, key_size: usize, value_out: usize, value_size_out: usize, cas_out: usize): i32;
// @ts-ignore: decorator
@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(key: usize, key_size: usize, value: usize, value_size: usize, cas: u32): i32;
// @ts-ignore: decorator
@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(period: u32): i32;
// @ts-ignore: decorator
@external("env", "proxy_record_metric")
export declare function proxy_record_metric(id: u32, value: u64): i32;
// @ts-ignore: decorator
@external("env", "proxy_http_call")
export declare function proxy_http_call(
  cluster: usize, cluster_size: usize, headers: usize, headers_size: usize, body: usize, body_size: usize,
  trailers: usize, trailers_size: usize, timeout_ms: u32, token_out: usize,
): i32;
// @ts-ignore: decorator
@external("env", "proxy_set_effective_context")
export declare function proxy_set_effective_context(context_id: u32): i32;
// @ts-ignore: decorator
@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(map: i32, key: usize, key_size: usize, value_out: usize, value_size_out: usize): i32;
