// Host calls of the shared data area: a key-value store per vm_id with compare-and-swap numbers,
// and the shared queues (docs/envoy-host.md §20; cpp-host src/exports.cc).

import { WasmResult, words } from "../abi.ts";
import type { Meaning } from "../contract.ts";
import { hostCall } from "../spec.ts";
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
  hostCall({
    name: "proxy_register_shared_queue",
    params: words(3),
    call(host, namePtr: number, nameSize: number, tokenPtr: number) {
      const name = host.memory.string(namePtr, nameSize);
      if (name === null) return WasmResult.InvalidMemoryAccess;
      const token = host.context.registerSharedQueue(name);
      return host.memory.writeU32(tokenPtr, token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    describe: ([namePtr, nameSize, tokenPtr], result, host): Meaning => {
      const name = text(host.memory, namePtr, nameSize);
      return result === WasmResult.Ok ? { name, token: u32(host.memory, tokenPtr) } : { name };
    },
    text: ({ name, token }) => (token === undefined ? String(name) : `${name}: token ${token}`),
  }),
  hostCall({
    name: "proxy_resolve_shared_queue",
    params: words(5),
    call(host, vmIdPtr: number, vmIdSize: number, namePtr: number, nameSize: number, tokenPtr: number) {
      const vmId = host.memory.string(vmIdPtr, vmIdSize);
      const name = host.memory.string(namePtr, nameSize);
      if (vmId === null || name === null) return WasmResult.InvalidMemoryAccess;
      const token = host.context.resolveSharedQueue(vmId, name);
      if (token === 0) return WasmResult.NotFound;
      return host.memory.writeU32(tokenPtr, token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    describe: ([vmIdPtr, vmIdSize, namePtr, nameSize, tokenPtr], result, host): Meaning => {
      const where = { vmId: text(host.memory, vmIdPtr, vmIdSize), name: text(host.memory, namePtr, nameSize) };
      return result === WasmResult.Ok ? { ...where, token: u32(host.memory, tokenPtr) } : where;
    },
    text: ({ vmId, name, token }) => `${vmId === "" ? "" : `${vmId} `}${name}${token === undefined ? "" : `: token ${token}`}`,
  }),
  hostCall({
    name: "proxy_enqueue_shared_queue",
    params: words(3),
    call(host, token: number, valuePtr: number, valueSize: number) {
      const stored = host.memory.copy(valuePtr, valueSize);
      if (stored === null) return WasmResult.InvalidMemoryAccess;
      return host.context.enqueueSharedQueue(token >>> 0, stored);
    },
    describe: ([token, valuePtr, valueSize], _result, host) => ({ token: token >>> 0, value: value(host.memory, valuePtr, valueSize) }),
    text: ({ token, value }) => `token ${token}: ${value}`,
  }),
  hostCall({
    name: "proxy_dequeue_shared_queue",
    params: words(3),
    call(host, token: number, valuePtrPtr: number, valueSizePtr: number) {
      const item = host.context.dequeueSharedQueue(token >>> 0);
      if (!(item instanceof Uint8Array)) return item;
      return host.memory.copyOut(item, valuePtrPtr, valueSizePtr);
    },
    describe([token, valuePtrPtr, valueSizePtr], result, host): Meaning {
      if (result !== WasmResult.Ok) return { token: token >>> 0 };
      return { token: token >>> 0, value: value(host.memory, u32(host.memory, valuePtrPtr), u32(host.memory, valueSizePtr)) };
    },
    text: ({ token, value }) => (value === undefined ? `token ${token}` : `token ${token}: ${value}`),
  }),
];
