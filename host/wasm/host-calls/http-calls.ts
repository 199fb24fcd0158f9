// Host calls of HTTP header maps and local replies. On a TCP connection the HTTP stream's maps do
// not exist and Envoy answers BadArgument; the one map there is an HTTP call's response, read
// while proxy_on_http_call_response runs (docs/envoy-host.md §19). Envoy edits and sizes maps
// through `getMap`, which never gives a call's response: those calls stay BadArgument.

import { HeaderMapType, WasmResult, words } from "../abi.ts";
import type { HttpHeader } from "../contract.ts";
import { encodePairs } from "../pairs.ts";
import { answering, hostCall, NOTHING } from "../spec.ts";
import { text } from "../trace-values.ts";

/** The map type a word names; undefined above HttpCallResponseTrailers (cpp-host answers BadArgument). */
function headerMapType(word: number): HeaderMapType | undefined {
  return word >>> 0 > HeaderMapType.HttpCallResponseTrailers ? undefined : word;
}

function mapName(word: number): { map: string } | typeof NOTHING {
  const name = HeaderMapType[word];
  return name === undefined ? NOTHING : { map: name };
}

function latin1(value: string): Uint8Array {
  return Buffer.from(value, "latin1");
}

/** The pairs encoding of headers; cpp-host hands no block at all for an empty map. */
function encodeHeaders(headers: readonly HttpHeader[]): Uint8Array {
  return headers.length === 0 ? new Uint8Array(0) : encodePairs(headers.map(([name, value]) => [latin1(name), latin1(value)]));
}

export const HTTP_CALLS = [
  hostCall({
    name: "proxy_get_header_map_value",
    params: words(5),
    call(host, type: number, keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number) {
      const map = headerMapType(type);
      if (map === undefined) return WasmResult.BadArgument;
      const key = host.memory.bytes(keyPtr, keySize);
      if (key === null) return WasmResult.InvalidMemoryAccess;
      const value = host.context.headerMapValue(map, Buffer.from(key).toString("latin1"));
      if (typeof value !== "string") return value;
      return host.memory.copyOut(latin1(value), valuePtrPtr, valueSizePtr);
    },
    describe: ([type, keyPtr, keySize], _result, host) => ({ ...mapName(Number(type)), key: text(host.memory, Number(keyPtr), Number(keySize)) }),
    text: ({ map, key }) => (map === undefined ? String(key) : `${map} ${key}`),
  }),
  hostCall({
    name: "proxy_get_header_map_pairs",
    params: words(3),
    call(host, type: number, ptrPtr: number, sizePtr: number) {
      const map = headerMapType(type);
      if (map === undefined) return WasmResult.BadArgument;
      const pairs = host.context.headerMapPairs(map);
      if (typeof pairs === "number") return pairs;
      return host.memory.copyOut(encodeHeaders(pairs), ptrPtr, sizePtr);
    },
    describe: ([type]) => mapName(Number(type)),
    text: ({ map }) => String(map),
  }),
  ...answering(WasmResult.BadArgument, {
    8: ["proxy_send_local_response"],
    5: ["proxy_add_header_map_value", "proxy_replace_header_map_value"],
    3: ["proxy_remove_header_map_value", "proxy_set_header_map_pairs"],
    2: ["proxy_get_header_map_size"],
  }),
];
