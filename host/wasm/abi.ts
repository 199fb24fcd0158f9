// Constants of the proxy-wasm ABI as Envoy's host uses them (proxy-wasm-cpp-host, ABI 0.1.0 to
// 0.2.1), and the value types of a signature. Numbers here are wire values: they cross the wasm
// boundary as i32, each enum counting from 0 in the order written. A log level's number is its
// index in LOG_LEVELS (host/log.ts).

/** What a host call answers: Ok 0, NotFound 1, ... Unimplemented 12, in this order. */
export enum WasmResult {
  Ok, NotFound, BadArgument, SerializationFailure, ParseFailure, BadExpression, InvalidMemoryAccess,
  Empty, CasMismatch, ResultMismatch, InternalFailure, BrokenConnection, Unimplemented,
}

/** The buffer a buffer call names: HttpRequestBody 0 ... CallData 8, in this order. */
export enum BufferType {
  HttpRequestBody, HttpResponseBody, NetworkDownstreamData, NetworkUpstreamData, HttpCallResponseBody,
  GrpcReceiveBuffer, VmConfiguration, PluginConfiguration, CallData,
}

/** The header map a header-map call names: RequestHeaders 0 ... HttpCallResponseTrailers 7, in this order. */
export enum HeaderMapType {
  RequestHeaders, RequestTrailers, ResponseHeaders, ResponseTrailers, GrpcReceiveInitialMetadata,
  GrpcReceiveTrailingMetadata, HttpCallResponseHeaders, HttpCallResponseTrailers,
}

/** Peer type passed to the connection-close callbacks. */
export enum PeerType { Unknown, Local, Remote }

export enum MetricType { Counter, Gauge, Histogram }

/** proxy_continue_stream / proxy_close_stream argument. */
export enum StreamType { HttpRequest, HttpResponse, Downstream, Upstream }

/** What a network filter's data and new-connection callbacks return: 0 Continue, any other word StopIteration. */
export enum FilterStatus { Continue, StopIteration }

/** The ABI version markers Envoy accepts, as function exports, oldest first. */
export const ABI_VERSIONS = ["proxy_abi_version_0_1_0", "proxy_abi_version_0_2_0", "proxy_abi_version_0_2_1"] as const;
export type AbiVersion = (typeof ABI_VERSIONS)[number];
export const [V0_1_0, V0_2_0, V0_2_1] = ABI_VERSIONS;

/** A wasm value type, as cpp-host prints it in a signature. */
export type ValType = "i32" | "i64" | "f64";
export const I32: ValType = "i32";
export const I64: ValType = "i64";

/** `count` i32 words: the parameters of most ABI functions (a "Word" in cpp-host). */
export function words(count: number): ValType[] {
  return Array<ValType>(count).fill(I32);
}

/** A function's parameter and result types. */
export interface Signature {
  params: readonly ValType[];
  results: readonly ValType[];
}
