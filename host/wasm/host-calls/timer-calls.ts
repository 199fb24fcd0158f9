// Host calls of the time area: the root context's tick period, and the wall clock.

import { WasmResult, words } from "../abi.ts";
import { hostCall } from "../spec.ts";


export const TIMER_CALLS = [
  hostCall({
    name: "proxy_set_tick_period_milliseconds",
    params: words(1),
    call: (host, period: number) => host.context.setTickPeriod(period >>> 0),
    describe: ([period]) => ({ periodMs: period >>> 0 }),
    text: ({ periodMs }) => (periodMs === 0 ? "no ticks" : `every ${periodMs} ms`),
  }),
  hostCall({
    name: "proxy_get_current_time_nanoseconds",
    params: words(1),
    call(host, resultPtr: number) {
      return host.memory.writeU64(resultPtr, host.context.currentTimeNanoseconds()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
  }),
];
