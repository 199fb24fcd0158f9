// Host calls of the shared data area: a key-value store shared by the VMs of one plugin, with
// compare-and-swap numbers. Shared queues are not implemented.

import { WasmResult, words } from "../abi.ts";
import type { Meaning } from "../contract.ts";
import { answering, hostCall } from "../spec.ts";
import { text, u32, value } from "../trace-values.ts";


export const SHARED_DATA_CALLS = [
  hostCall({
    name: "proxy_get_shared_data",
    params: words(5),
    call(host, keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number, casPtr: number) {
      const key = host.memory.string(keyPtr, keySize);
      if (key === null) return WasmResult.InvalidMemoryAccess;
      const entry = host.context.getSharedData(key);
      if (entry === undefined) return WasmResult.NotFound;
      const result = host.memory.copyOut(entry.value, valuePtrPtr, valueSizePtr);
      if (result !== WasmResult.Ok) return result;
      return host.memory.writeU32(casPtr, entry.cas) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    describe([keyPtr, keySize, valuePtrPtr, valueSizePtr, casPtr], result, host): Meaning {
      const key = text(host.memory, keyPtr, keySize);
      if (result !== WasmResult.Ok) return { key };
      const shared = value(host.memory, u32(host.memory, valuePtrPtr), u32(host.memory, valueSizePtr));
      return { key, value: shared, cas: u32(host.memory, casPtr) };
    },
    text: ({ key, value, cas }) => (value === undefined ? String(key) : `${key} = ${value}, cas ${cas}`),
  }),
  hostCall({
    name: "proxy_set_shared_data",
    params: words(5),
    call(host, keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number) {
      const key = host.memory.string(keyPtr, keySize);
      const stored = host.memory.copy(valuePtr, valueSize);
      if (key === null || stored === null) return WasmResult.InvalidMemoryAccess;
      return host.context.setSharedData(key, stored, cas >>> 0);
    },
    describe: ([keyPtr, keySize, valuePtr, valueSize], _result, host) => ({
      key: text(host.memory, keyPtr, keySize),
      value: value(host.memory, valuePtr, valueSize),
    }),
    text: ({ key, value }) => `${key} = ${value}`,
  }),
  ...answering(WasmResult.Unimplemented, {
    3: ["proxy_register_shared_queue", "proxy_dequeue_shared_queue", "proxy_enqueue_shared_queue"],
    5: ["proxy_resolve_shared_queue"],
  }),
];
