// Host calls that reach out of the filter: HTTP and gRPC calls (not implemented), foreign
// functions (none registered), and the status of the last call out.

import { WasmResult } from "../abi.ts";
import { EMPTY_BYTES } from "../bytes.ts";
import { hostCall } from "../spec.ts";

const I32 = "i32";
const unimplemented = () => WasmResult.Unimplemented;
const words = (count: number) => Array<"i32">(count).fill(I32);

export const OUTBOUND_CALLS = [
  hostCall({
    name: "proxy_get_status",
    params: [I32, I32, I32],
    call(host, codePtr: number, messagePtrPtr: number, messageSizePtr: number) {
      if (!host.memory.writeU32(codePtr, 0)) return WasmResult.InvalidMemoryAccess;
      return host.memory.copyOut(EMPTY_BYTES, messagePtrPtr, messageSizePtr);
    },
  }),
  hostCall({ name: "proxy_http_call", params: words(10), call: unimplemented }),
  hostCall({ name: "proxy_grpc_call", params: words(12), call: unimplemented }),
  hostCall({ name: "proxy_grpc_stream", params: words(9), call: unimplemented }),
  hostCall({ name: "proxy_grpc_close", params: words(1), call: unimplemented }),
  hostCall({ name: "proxy_grpc_cancel", params: words(1), call: unimplemented }),
  hostCall({ name: "proxy_grpc_send", params: words(4), call: unimplemented }),
  hostCall({ name: "proxy_call_foreign_function", params: words(6), call: () => WasmResult.NotFound }),
];
