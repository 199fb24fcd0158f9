// Host calls of the contexts and streams area (docs/envoy-host.md §2–3): which context later
// calls act on, resuming or closing the connection, the end of a root context; and ABI 0.1.0's
// HTTP stream calls, which have nothing to resume on a TCP connection.

import { StreamType, V0_1_0, V0_2_0, V0_2_1, WasmResult } from "../abi.ts";
import { hostCall, NOTHING } from "../spec.ts";

const I32 = "i32";
const FROM_0_2_0 = [V0_2_0, V0_2_1];

/** The stream a word names, for the trace. */
const streamName = (type: number) => (StreamType[type] === undefined ? NOTHING : { stream: StreamType[type] });
const showStream = ({ stream }: { stream?: unknown }) => String(stream);

export const STREAM_CALLS = [
  hostCall({
    name: "proxy_set_effective_context",
    params: [I32],
    call: (host, id: number) => (host.setEffectiveContext(id) ? WasmResult.Ok : WasmResult.BadArgument),
    describe: ([id]) => ({ context: id }),
    text: ({ context }) => `context ${context}`,
  }),
  hostCall({
    name: "proxy_continue_stream",
    params: [I32],
    versions: FROM_0_2_0,
    call: (host, type: number) => host.context.continueStream(type),
    describe: ([type]) => streamName(type),
    text: showStream,
  }),
  hostCall({
    name: "proxy_close_stream",
    params: [I32],
    versions: FROM_0_2_0,
    call: (host, type: number) => host.context.closeStream(type),
    describe: ([type]) => streamName(type),
    text: showStream,
  }),
  hostCall({
    name: "proxy_done",
    params: [],
    call: (host) => host.context.done(),
  }),
  hostCall({ name: "proxy_continue_request", params: [], versions: [V0_1_0], call: () => WasmResult.Ok }),
  hostCall({ name: "proxy_continue_response", params: [], versions: [V0_1_0], call: () => WasmResult.Ok }),
  hostCall({ name: "proxy_clear_route_cache", params: [], versions: [V0_1_0], call: () => WasmResult.Ok }),
];
