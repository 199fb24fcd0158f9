// Host calls of the contexts and streams area (docs/envoy-host.md §2–3): which context later
// calls act on, resuming or closing the connection, the end of a root context; and ABI 0.1.0's
// HTTP stream calls, which have nothing to resume on a TCP connection.

import { StreamType, V0_1_0, V0_2_0, V0_2_1, WasmResult, words } from "../abi.ts";
import type { Context } from "../contexts.ts";
import { answering, hostCall, NOTHING, type HostCall } from "../spec.ts";

/** proxy_continue_stream or proxy_close_stream (ABI 0.2.0 on): one stream type, acted on by the context. */
function streamCall(name: string, act: (context: Context, type: StreamType) => WasmResult): HostCall {
  return hostCall({
    name,
    params: words(1),
    versions: [V0_2_0, V0_2_1],
    call: (host, type: number) => act(host.context, type),
    describe: ([type]) => (StreamType[type] === undefined ? NOTHING : { stream: StreamType[type] }),
    text: ({ stream }) => String(stream),
  });
}

export const STREAM_CALLS = [
  hostCall({
    name: "proxy_set_effective_context",
    params: words(1),
    call: (host, id: number) => (host.setEffectiveContext(id) ? WasmResult.Ok : WasmResult.BadArgument),
    describe: ([id]) => ({ context: id }),
    text: ({ context }) => `context ${context}`,
  }),
  streamCall("proxy_continue_stream", (context, type) => context.continueStream(type)),
  streamCall("proxy_close_stream", (context, type) => context.closeStream(type)),
  hostCall({ name: "proxy_done", params: words(0), call: (host) => host.context.done() }),
  ...answering(WasmResult.Ok, { 0: ["proxy_continue_request", "proxy_continue_response", "proxy_clear_route_cache"] }, [V0_1_0]),
];
