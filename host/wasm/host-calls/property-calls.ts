// Host calls of the properties area (docs/envoy-host.md §5): a value of the property tree read
// into the module, and a value a connection stores for itself.

import { WasmResult, words } from "../abi.ts";
import type { Meaning } from "../contract.ts";
import { hostCall } from "../spec.ts";
import { propertyPath, u32, value } from "../trace-values.ts";


export const PROPERTY_CALLS = [
  hostCall({
    name: "proxy_get_property",
    params: words(4),
    call(host, pathPtr: number, pathSize: number, valuePtrPtr: number, valueSizePtr: number) {
      const path = host.memory.bytes(pathPtr, pathSize);
      if (path === null) return WasmResult.InvalidMemoryAccess;
      const found = host.context.getProperty(path);
      return typeof found === "number" ? found : host.memory.copyOut(found, valuePtrPtr, valueSizePtr);
    },
    describe([pathPtr, pathSize, valuePtrPtr, valueSizePtr], result, host): Meaning {
      const path = propertyPath(host.memory, pathPtr, pathSize);
      if (result !== WasmResult.Ok) return { path };
      return { path, value: value(host.memory, u32(host.memory, valuePtrPtr), u32(host.memory, valueSizePtr)) };
    },
    text: ({ path, value }) => (value === undefined ? String(path) : `${path} = ${value}`),
  }),
  hostCall({
    name: "proxy_set_property",
    params: words(4),
    call(host, pathPtr: number, pathSize: number, valuePtr: number, valueSize: number) {
      const path = host.memory.bytes(pathPtr, pathSize);
      const stored = host.memory.copy(valuePtr, valueSize);
      if (path === null || stored === null) return WasmResult.InvalidMemoryAccess;
      return host.context.setProperty(path, stored);
    },
    describe: ([pathPtr, pathSize, valuePtr, valueSize], _result, host) => ({
      path: propertyPath(host.memory, pathPtr, pathSize),
      value: value(host.memory, valuePtr, valueSize),
    }),
    text: ({ path, value }) => `${path} = ${value}`,
  }),
];
