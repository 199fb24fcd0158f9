// Testing a proxy-wasm network filter of one's own, as the Go SDK's proxytest does: load any
// filter's .wasm with a configuration, script connections the way Envoy drives them
// (docs/envoy-host.md §3), and read what the filter did — the bytes it passed on each way after
// its edits, whether it closed the connection or held bytes back, its status for each call, its
// log lines and its metrics. The filter runs in the local host's proxy-wasm host, as it would in
// Envoy. docs/testing-api.md is its reference; docs/writing-a-filter.md uses it in a node:test suite.
//
//   const guard = startFilter({ wasm: "build/tcp_guard.wasm", rootId: "tcp_guard",
//                               configuration: '{"deny_sources": ["10.0.0.0/8"]}' });
//   const client = guard.connect({ source: { address: "10.1.2.3", port: 40000 } });
//   client.newConnectionStatus   // "StopIteration"
//   client.closed                // true
//   client.upstreamStarted       // false: tcp_proxy never connects
//   guard.metric("tcp_guard_denied")   // 1n

export { FilterStartError, FilterUnderTest, startFilter, type FilterOptions } from "./filter-under-test.ts";
export { ScriptedHttpCalls, type ScriptedAnswer, type ScriptedReset, type ScriptedResponse } from "./scripted-http-calls.ts";
export { TestConnection, type ConnectionOptions, type Forwarded } from "./test-connection.ts";
export {
  SharedData,
  traceLine,
  traceLines,
  type ClusterInfo,
  type Endpoint,
  type FilterStatus,
  type HttpCallDispatcher,
  type HttpCallRequest,
  type HttpHeader,
  type TraceEvent,
  type UpstreamHostInfo,
  type VmDiagnostics,
} from "../wasm/api.ts";
