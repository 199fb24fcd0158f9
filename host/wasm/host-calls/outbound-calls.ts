// Host calls that reach out of the filter: HTTP and gRPC calls (not implemented), foreign
// functions (none registered), and the status of the last call out.

import { WasmResult, words } from "../abi.ts";
import { EMPTY_BYTES } from "../bytes.ts";
import { answering, hostCall } from "../spec.ts";

export const OUTBOUND_CALLS = [
  hostCall({
    name: "proxy_get_status",
    params: words(3),
    call(host, codePtr: number, messagePtrPtr: number, messageSizePtr: number) {
      if (!host.memory.writeU32(codePtr, 0)) return WasmResult.InvalidMemoryAccess;
      return host.memory.copyOut(EMPTY_BYTES, messagePtrPtr, messageSizePtr);
    },
  }),
  ...answering(WasmResult.Unimplemented, {
    10: ["proxy_http_call"],
    12: ["proxy_grpc_call"],
    9: ["proxy_grpc_stream"],
    1: ["proxy_grpc_close", "proxy_grpc_cancel"],
    4: ["proxy_grpc_send"],
  }),
  ...answering(WasmResult.NotFound, { 6: ["proxy_call_foreign_function"] }),
];
