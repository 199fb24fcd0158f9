// Host calls that reach out of the filter: HTTP calls (docs/envoy-host.md §19), gRPC calls (not
// implemented), foreign functions (none registered), and the status of the last call out.

import { WasmResult, words } from "../abi.ts";
import type { HttpHeader } from "../contract.ts";
import { byteString } from "../bytes.ts";
import { decodePairs } from "../pairs.ts";
import { answering, hostCall } from "../spec.ts";
import { byteCount, text, u32 } from "../trace-values.ts";

const ENCODER = new TextEncoder();

export const OUTBOUND_CALLS = [
  hostCall({
    name: "proxy_get_status",
    params: words(3),
    call(host, codePtr: number, messagePtrPtr: number, messageSizePtr: number) {
      const [code, message] = host.context.status();
      if (!host.memory.writeU32(codePtr, code)) return WasmResult.InvalidMemoryAccess;
      return host.memory.copyOut(ENCODER.encode(message), messagePtrPtr, messageSizePtr);
    },
  }),
  hostCall({
    name: "proxy_http_call",
    params: words(10),
    // cpp-host `http_call`: the memory checked and the token written (0) before the call, the
    // token written again after it, whatever it answered.
    call(
      host,
      clusterPtr: number, clusterSize: number, headersPtr: number, headersSize: number, bodyPtr: number, bodySize: number,
      trailersPtr: number, trailersSize: number, timeoutMs: number, tokenPtr: number,
    ) {
      const { memory } = host;
      const cluster = memory.bytes(clusterPtr, clusterSize);
      const body = memory.copy(bodyPtr, bodySize);
      const headers = memory.bytes(headersPtr, headersSize);
      const trailers = memory.bytes(trailersPtr, trailersSize);
      if (cluster === null || body === null || headers === null || trailers === null) return WasmResult.InvalidMemoryAccess;
      if (!memory.writeU32(tokenPtr, 0)) return WasmResult.InvalidMemoryAccess;
      const { result, token } = host.context.httpCall({
        cluster: byteString(cluster),
        headers: headerPairs(headers),
        body,
        trailers: headerPairs(trailers),
        // Envoy takes the word as a signed int: a negative timeout is refused
        timeoutMs: timeoutMs | 0,
      });
      memory.writeU32(tokenPtr, token);
      return result;
    },
    describe: ([clusterPtr, clusterSize, , , , bodySize, , , timeoutMs, tokenPtr], result, host) => {
      const meaning = { cluster: text(host.memory, Number(clusterPtr), Number(clusterSize)), bodyBytes: Number(bodySize), timeoutMs: Number(timeoutMs) | 0 };
      return result === WasmResult.Ok ? { ...meaning, token: u32(host.memory, Number(tokenPtr)) } : meaning;
    },
    text: ({ cluster, bodyBytes, timeoutMs, token }) =>
      `cluster ${cluster}, body ${byteCount(Number(bodyBytes))}, timeout ${timeoutMs} ms` + (token === undefined ? "" : ` → token ${token}`),
  }),
  ...answering(WasmResult.Unimplemented, {
    12: ["proxy_grpc_call"],
    9: ["proxy_grpc_stream"],
    1: ["proxy_grpc_close", "proxy_grpc_cancel"],
    4: ["proxy_grpc_send"],
  }),
  ...answering(WasmResult.NotFound, { 6: ["proxy_call_foreign_function"] }),
];

/** A pairs encoding as headers, each byte a char; bytes that are no pairs encoding give none (cpp-host `toPairs`). */
function headerPairs(bytes: Uint8Array): HttpHeader[] {
  return (decodePairs(bytes) ?? []).map(([name, value]) => [byteString(name), byteString(value)] as const);
}
