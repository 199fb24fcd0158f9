// The wasm side's public API: all that the rest of the host, the tests and the benchmarks may
// use of host/wasm/. Start a plugin, hand it connections through the network filter contract,
// and read what crossed the ABI as trace events (or as the CLI's text).

export type {
  ClusterInfo,
  ConnectionFilter,
  ConnectionInfo,
  Endpoint,
  FilterConnection,
  FilterFactory,
  FilterStatus,
  HttpCallDispatcher,
  HttpCallHandlers,
  HttpCallRequest,
  HttpCallResponse,
  HttpHeader,
  PendingHttpCall,
  ReadFilter,
  ReadFilterCallbacks,
  PropertyNames,
  UpstreamHostInfo,
  VmDiagnostics,
  WasmPlugin,
  WasmPluginOptions,
  EnterEvent,
  HostCallEvent,
  LeaveEvent,
  Meaning,
  TraceEvent,
  TraceListener,
  Word,
} from "./contract.ts";
export { PluginStartError } from "./contract.ts";
export { startWasmPlugin } from "./wasm-plugin.ts";
export { SharedData } from "./shared-data.ts";
export { traceLine, traceLines } from "./trace-text.ts";
export { MARKED_CALL_NAMES } from "./vm.ts";
