// Checked calls into the host that return data: the host writes a pointer and a length into two
// words of ours, and the block behind the pointer was allocated by our exported malloc.

import * as imports from "@solo-io/proxy-runtime/imports";
import { free } from "@solo-io/proxy-runtime/malloc";
import { BufferTypeValues, LogLevelValues, WasmResultValues } from "@solo-io/proxy-runtime/runtime";

// ABI 0.2.1 (index.ts exports its marker); proxy-runtime 0.1.8 does not declare it.
@external("env", "proxy_get_log_level")
declare function proxy_get_log_level(level_out: usize): WasmResultValues;

/** Where the host writes the returned block's address, then its length. */
export const RETURNED_POINTER: usize = memory.data(8);
export const RETURNED_LENGTH: usize = RETURNED_POINTER + 4;

/** A host call's result code and, when it is Ok, the bytes it returned. */
export class HostBytes {
  result: WasmResultValues;
  bytes: ArrayBuffer;

  constructor(result: WasmResultValues, bytes: ArrayBuffer) {
    this.result = result;
    this.bytes = bytes;
  }

  get ok(): bool {
    return this.result == WasmResultValues.Ok;
  }
}

/** What a failed call or an empty answer holds: shared, as misses are common (absent metadata). */
const NO_BYTES = new ArrayBuffer(0);

/** Takes ownership of the block a host call just returned through RETURNED_POINTER. */
export function takeReturnedBytes(result: WasmResultValues): HostBytes {
  if (result != WasmResultValues.Ok) return new HostBytes(result, NO_BYTES);
  const pointer = load<usize>(RETURNED_POINTER);
  // Nothing to return: the host writes 0 and 0 and does not call malloc.
  if (pointer == 0) return new HostBytes(result, NO_BYTES);
  const bytes = changetype<ArrayBuffer>(pointer);
  free(pointer); // malloc's own reference; `bytes` keeps the block alive
  return new HostBytes(result, bytes);
}

/** `length` bytes from `start` of a buffer; the host clamps the range to the buffer. */
export function readBufferBytes(buffer: BufferTypeValues, start: u32, length: u32): HostBytes {
  store<usize>(RETURNED_POINTER, 0);
  const result = imports.proxy_get_buffer_bytes(buffer, start, length, RETURNED_POINTER, RETURNED_LENGTH);
  return takeReturnedBytes(result);
}

/** The host's wall clock in nanoseconds, 0 if it has none. */
export function currentTimeNanoseconds(): u64 {
  const slot = RETURNED_POINTER; // 8 bytes, free between calls
  store<u64>(slot, 0);
  if (imports.proxy_get_current_time_nanoseconds(slot) != WasmResultValues.Ok) return 0;
  return load<u64>(slot);
}

/**
 * The lowest level the host prints now: trace 0 .. critical 5, and 6 when logging is off (Envoy
 * answers with its `wasm` logger's level). Trace when the host cannot tell, so that every line is
 * built. Ask again in every callback: the level can change at run time (Envoy's admin /logging).
 */
export function hostLogLevel(): LogLevelValues {
  const slot = RETURNED_POINTER; // 4 bytes, free between calls
  if (proxy_get_log_level(slot) != WasmResultValues.Ok) return LogLevelValues.trace;
  return <LogLevelValues>load<i32>(slot);
}

/** The name of a result code as Envoy's headers spell it, e.g. `NotFound`. */
export function resultName(result: WasmResultValues): string {
  switch (result) {
    case WasmResultValues.Ok: return "Ok";
    case WasmResultValues.NotFound: return "NotFound";
    case WasmResultValues.BadArgument: return "BadArgument";
    case WasmResultValues.SerializationFailure: return "SerializationFailure";
    case WasmResultValues.ParseFailure: return "ParseFailure";
    case WasmResultValues.BadExpression: return "BadExpression";
    case WasmResultValues.InvalidMemoryAccess: return "InvalidMemoryAccess";
    case WasmResultValues.Empty: return "Empty";
    case WasmResultValues.CasMismatch: return "CasMismatch";
    case WasmResultValues.ResultMismatch: return "ResultMismatch";
    case WasmResultValues.InternalFailure: return "InternalFailure";
    case WasmResultValues.BrokenConnection: return "BrokenConnection";
    case WasmResultValues.Unimplemented: return "Unimplemented";
  }
  return "Result" + (<u32>result).toString();
}
