// Every call into the host. This is the only module of a filter that calls the host imports
// (imports.ts): each call's result is checked, each returned size read, each returned block taken
// over.

import { free } from "@solo-io/proxy-runtime/malloc";
import {
  BufferTypeValues, LogLevelValues, MetricTypeValues, StreamTypeValues, WasmResultValues,
} from "@solo-io/proxy-runtime/runtime";
import {
  proxy_close_stream, proxy_continue_stream, proxy_define_metric, proxy_get_buffer_bytes, proxy_get_current_time_nanoseconds,
  proxy_get_header_map_value, proxy_get_log_level, proxy_get_property, proxy_get_shared_data, proxy_http_call,
  proxy_increment_metric, proxy_log, proxy_record_metric, proxy_set_buffer_bytes, proxy_set_effective_context,
  proxy_set_shared_data, proxy_set_tick_period_milliseconds,
} from "./imports";

/** Where the host writes a returned block's address, then its length; or one 8-byte value. */
const RETURNED_POINTER: usize = memory.data(8);
const RETURNED_LENGTH: usize = RETURNED_POINTER + 4;

/** What a failed call or an empty answer holds: shared, as misses are common (absent metadata). */
const NO_BYTES = new ArrayBuffer(0);

/**
 * A host call's result code and, when it is Ok, the bytes it returned. The calls that return
 * bytes fill one given to them: a caller that reads on every connection keeps one and allocates
 * nothing per read. What it held goes when it is filled again; release() lets it go sooner, so that
 * a kept one holds no memory between callbacks.
 */
export class HostBytes {
  result: WasmResultValues = WasmResultValues.Ok;
  bytes: ArrayBuffer = NO_BYTES;

  get ok(): bool {
    return this.result == WasmResultValues.Ok;
  }

  /** Holds `result` and `bytes` from now on. */
  hold(result: WasmResultValues, bytes: ArrayBuffer): HostBytes {
    this.result = result;
    this.bytes = bytes;
    return this;
  }

  /** Lets the bytes go. */
  release(): void {
    this.bytes = NO_BYTES;
  }
}

/**
 * Takes ownership of the block a host call just returned, into `into`, which holds no bytes yet
 * (its caller released them): the host allocated it with our exported malloc and wrote its address
 * and length into RETURNED_POINTER and RETURNED_LENGTH. Written for the calls made on every
 * connection: the block goes straight into `into`, with no local reference to count.
 */
function takeReturnedBytes(result: WasmResultValues, into: HostBytes): void {
  into.result = result;
  if (result != WasmResultValues.Ok) return;
  const pointer = load<usize>(RETURNED_POINTER);
  const length = load<u32>(RETURNED_LENGTH);
  // Nothing to return: the host writes 0 and 0 and does not call malloc (§4).
  if (pointer == 0) {
    if (length != 0) into.result = WasmResultValues.InvalidMemoryAccess;
    return;
  }
  const size = <u32>changetype<ArrayBuffer>(pointer).byteLength;
  if (size == length) {
    into.bytes = changetype<ArrayBuffer>(pointer);
  } else if (size > length) {
    into.bytes = changetype<ArrayBuffer>(pointer).slice(0, <i32>length);
  } else {
    // The block is malloc(length): a length beyond it would be memory the host did not write.
    into.result = WasmResultValues.InvalidMemoryAccess;
  }
  free(pointer); // malloc's own reference; `into` keeps what it holds alive
}

/** Clears the out-words, so that a host that writes nothing is read as "nothing returned". */
function clearReturned(): void {
  store<usize>(RETURNED_POINTER, 0);
  store<u32>(RETURNED_LENGTH, 0);
}

/** `length` bytes from `start` of a buffer, into `into`; the host clamps the range to the buffer (§4). */
export function getBufferBytes(buffer: BufferTypeValues, start: u32, length: u32, into: HostBytes = new HostBytes()): HostBytes {
  // What `into` held goes before the host allocates the answer: never both at once.
  into.release();
  clearReturned();
  takeReturnedBytes(proxy_get_buffer_bytes(buffer, start, length, RETURNED_POINTER, RETURNED_LENGTH), into);
  return into;
}

/**
 * Envoy's buffer edit (§4): start 0 drains `length` bytes and then prepends `data`; a start at or
 * past the end appends; any other start is BadArgument.
 */
export function setBufferBytes(buffer: BufferTypeValues, start: u32, length: u32, data: ArrayBuffer): WasmResultValues {
  return proxy_set_buffer_bytes(buffer, start, length, changetype<usize>(data), data.byteLength);
}

/**
 * The property at `path`, into `into`: UTF-8, segments joined by NUL, e.g.
 * `String.UTF8.encode("source\0address")` (§5). NotFound is an answer like any other, never an abort.
 */
export function getProperty(path: ArrayBuffer, into: HostBytes = new HostBytes()): HostBytes {
  into.release(); // as in getBufferBytes
  clearReturned();
  takeReturnedBytes(proxy_get_property(changetype<usize>(path), path.byteLength, RETURNED_POINTER, RETURNED_LENGTH), into);
  return into;
}

/** Logs `size` bytes of UTF-8 at `message`. A failed log call has nowhere to be reported. */
export function logBytes(level: LogLevelValues, message: usize, size: usize): WasmResultValues {
  return proxy_log(level, message, size);
}

/**
 * The lowest level the host prints now: trace 0 .. critical 5, and 6 when logging is off (Envoy
 * answers with its `wasm` logger's level). Trace when the host cannot tell, so that every line is
 * built.
 */
export function getLogLevel(): LogLevelValues {
  store<i32>(RETURNED_POINTER, 0);
  if (proxy_get_log_level(RETURNED_POINTER) != WasmResultValues.Ok) return LogLevelValues.trace;
  return <LogLevelValues>load<i32>(RETURNED_POINTER);
}

/** The host's wall clock in nanoseconds, 0 if it has none. */
export function currentTimeNanoseconds(): u64 {
  store<u64>(RETURNED_POINTER, 0);
  if (proxy_get_current_time_nanoseconds(RETURNED_POINTER) != WasmResultValues.Ok) return 0;
  return load<u64>(RETURNED_POINTER);
}

/** A host call's result code and the word it returned. */
export class HostWord {
  result: WasmResultValues;
  value: u32;

  constructor(result: WasmResultValues, value: u32) {
    this.result = result;
    this.value = value;
  }
}

/** Defines (or finds again) the metric `name`, UTF-8; its id when the result is Ok. */
export function defineMetric(type: MetricTypeValues, name: ArrayBuffer): HostWord {
  store<u32>(RETURNED_POINTER, 0);
  const result = <WasmResultValues>proxy_define_metric(type, changetype<usize>(name), name.byteLength, RETURNED_POINTER);
  return new HostWord(result, result == WasmResultValues.Ok ? load<u32>(RETURNED_POINTER) : 0);
}

/** Adds `offset` to a counter (> 0 only, §6) or a gauge. */
export function incrementMetric(id: u32, offset: i64): WasmResultValues {
  return proxy_increment_metric(id, offset);
}

/** Sets a gauge to `value` (a counter would grow by it: Envoy `Context::recordMetric`). */
export function recordMetric(id: u32, value: u64): WasmResultValues {
  return proxy_record_metric(id, value);
}

/** proxy_continue_stream: Envoy resumes reading downstream after the callback (§3). */
export function continueStream(stream: StreamTypeValues): WasmResultValues {
  return proxy_continue_stream(stream);
}

/** proxy_close_stream: Envoy closes the connection after the callback. */
export function closeStream(stream: StreamTypeValues): WasmResultValues {
  return proxy_close_stream(stream);
}

/**
 * proxy_http_call (docs/envoy-host.md §19): `headers` in the pairs encoding, no trailers. The
 * call's token when the result is Ok; Envoy refuses (BadArgument) an unknown cluster or a request
 * without :method, :path or :authority, and then sends nothing.
 */
export function httpCall(cluster: ArrayBuffer, headers: ArrayBuffer, body: ArrayBuffer, timeoutMs: u32): HostWord {
  store<u32>(RETURNED_POINTER, 0);
  const result = <WasmResultValues>proxy_http_call(
    changetype<usize>(cluster), cluster.byteLength, changetype<usize>(headers), headers.byteLength,
    changetype<usize>(body), body.byteLength, 0, 0, timeoutMs, RETURNED_POINTER,
  );
  return new HostWord(result, result == WasmResultValues.Ok ? load<u32>(RETURNED_POINTER) : 0);
}

/**
 * proxy_set_effective_context: the host calls that follow, until the callback returns, act on
 * context `id` (BadArgument when it is gone). An HTTP call's answer comes to the root context.
 */
export function setEffectiveContext(id: u32): WasmResultValues {
  return proxy_set_effective_context(id);
}

/** A header of map `map` (6: an HTTP call's response headers), into `into`; NotFound when absent. */
export function getHeaderMapValue(map: i32, key: ArrayBuffer, into: HostBytes = new HostBytes()): HostBytes {
  into.release(); // as in getBufferBytes
  clearReturned();
  takeReturnedBytes(proxy_get_header_map_value(map, changetype<usize>(key), key.byteLength, RETURNED_POINTER, RETURNED_LENGTH), into);
  return into;
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

/** A shared-data value (HostBytes) and its cas: 0 unless the read is Ok. */
export class SharedBytes extends HostBytes {
  cas: u32 = 0;
}

/**
 * The value of the shared-data `key` (UTF-8) and its cas, into `into`. A key that is not there is
 * NotFound (docs/envoy-host.md §20). The host writes the cas into `into` itself: no static word
 * is added to every filter's memory for it.
 */
export function getSharedData(key: ArrayBuffer, into: SharedBytes): SharedBytes {
  into.release(); // as in getBufferBytes
  clearReturned();
  into.cas = 0;
  const casOut = changetype<usize>(into) + offsetof<SharedBytes>("cas");
  const result = proxy_get_shared_data(changetype<usize>(key), key.byteLength, RETURNED_POINTER, RETURNED_LENGTH, casOut);
  takeReturnedBytes(result, into);
  if (!into.ok) into.cas = 0;
  return into;
}

/**
 * Stores `value` under the shared-data `key` if its cas is still `cas`: CasMismatch when another
 * set came first. A cas of 0 replaces whatever is there, and a key that is not there takes any
 * cas (§20): creating a key is never checked.
 */
export function setSharedData(key: ArrayBuffer, value: ArrayBuffer, cas: u32): WasmResultValues {
  return proxy_set_shared_data(changetype<usize>(key), key.byteLength, changetype<usize>(value), value.byteLength, cas);
}

/** proxy_set_tick_period_milliseconds: the period of proxy_on_tick on this VM's root context; 0 stops it. */
export function setTickPeriodMilliseconds(period: u32): WasmResultValues {
  return proxy_set_tick_period_milliseconds(period);
}
