// Host calls of the buffers area (docs/envoy-host.md §4): a buffer's length, a range of its bytes
// copied into the module, and an edit of a connection's data.

import { BufferType, WasmResult, words } from "../abi.ts";
import type { Meaning } from "../contract.ts";
import { hostCall, NOTHING } from "../spec.ts";
import { byteCount, u32 } from "../trace-values.ts";


/** The buffer type a word names; undefined above CallData (BadArgument). */
function bufferType(word: number): BufferType | undefined {
  return word >>> 0 > BufferType.CallData ? undefined : word;
}

/** Whether a word names a buffer type. */
function isBufferType(word: number): word is BufferType {
  return bufferType(word) !== undefined;
}

/** The buffer's name, for the trace: {} for a word that names none. */
function bufferName(word: number): Meaning {
  const name = BufferType[word];
  return name === undefined ? NOTHING : { buffer: name };
}

export const BUFFER_CALLS = [
  hostCall({
    name: "proxy_get_buffer_status",
    params: words(3),
    call(host, type: number, lengthPtr: number, flagsPtr: number) {
      const buffer = bufferType(type);
      if (buffer === undefined) return WasmResult.BadArgument;
      const bytes = host.context.buffer(buffer);
      if (bytes === null) return WasmResult.NotFound;
      const ok = host.memory.writeU32(lengthPtr, bytes.length) && host.memory.writeU32(flagsPtr, 0);
      return ok ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    describe: ([type, lengthPtr], result, host) =>
      result === WasmResult.Ok ? { ...bufferName(type), bytes: u32(host.memory, lengthPtr) } : bufferName(type),
    text: ({ buffer, bytes }) => (bytes === undefined ? String(buffer) : `${buffer} ${byteCount(Number(bytes))}`),
  }),
  hostCall({
    name: "proxy_get_buffer_bytes",
    params: words(5),
    call(host, type: number, start: number, length: number, ptrPtr: number, sizePtr: number) {
      const buffer = bufferType(type);
      if (buffer === undefined) return WasmResult.BadArgument;
      const bytes = host.context.readBuffer(buffer, start >>> 0, length >>> 0);
      if (bytes === null) return WasmResult.NotFound;
      return host.memory.copyOut(bytes, ptrPtr, sizePtr);
    },
    describe: ([type, start, , , sizePtr], result, host) =>
      result === WasmResult.Ok
        ? { ...bufferName(type), start: start >>> 0, bytes: u32(host.memory, sizePtr) }
        : bufferName(type),
    text: ({ buffer, start, bytes }) =>
      bytes === undefined ? String(buffer) : `${buffer}[${start}..${Number(start) + Number(bytes)}] ${byteCount(Number(bytes))}`,
  }),
  hostCall({
    name: "proxy_set_buffer_bytes",
    params: words(5),
    call: (host, type: number, start: number, length: number, dataPtr: number, dataSize: number) =>
      isBufferType(type)
        ? host.context.setBuffer(type, start >>> 0, length >>> 0, host.memory.bytes(dataPtr, dataSize))
        : WasmResult.BadArgument,
    describe([type, start, length, , size], result) {
      if (result !== WasmResult.Ok) return bufferName(type);
      // Envoy's edit: start 0 replaces the first `length` bytes, any other start appends.
      return start === 0 ? { ...bufferName(type), replaced: length >>> 0, bytes: size } : { ...bufferName(type), appended: size };
    },
    text: ({ buffer, replaced, appended, bytes }) => {
      if (replaced !== undefined) return `${buffer}[0..${replaced}] replaced with ${byteCount(Number(bytes))}`;
      return appended !== undefined ? `${buffer} appended ${byteCount(Number(appended))}` : String(buffer);
    },
  }),
];
