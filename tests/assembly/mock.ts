// The specs' side of the mocked host (host-mock.cjs): arrange properties, buffers, time and the
// log level; read back log lines, metric values and how often the level and properties were read.

@external("mock", "reset")
declare function mockReset(): void;
@external("mock", "setProperty")
declare function mockSetProperty(path: usize, pathLength: usize, value: usize, valueLength: usize): void;
@external("mock", "failProperty")
declare function mockFailProperty(path: usize, pathLength: usize, result: u32): void;
@external("mock", "setBuffer")
declare function mockSetBuffer(type: u32, data: usize, length: usize): void;
@external("mock", "setTime")
declare function mockSetTime(milliseconds: f64): void;
@external("mock", "setHostLogLevel")
declare function mockSetHostLogLevel(level: u32): void;
@external("mock", "failHostLogLevel")
declare function mockFailHostLogLevel(result: u32): void;
@external("mock", "hostLogLevelQueries")
declare function mockHostLogLevelQueries(): i32;
@external("mock", "propertyReads")
declare function mockPropertyReads(): i32;
@external("mock", "setContinueResult")
declare function mockSetContinueResult(result: u32): void;
@external("mock", "streamCallCount")
declare function mockStreamCallCount(): i32;
@external("mock", "streamCallLength")
declare function mockStreamCallLength(index: i32): i32;
@external("mock", "copyStreamCall")
declare function mockCopyStreamCall(index: i32, pointer: usize): void;
@external("mock", "bufferLength")
declare function mockBufferLength(type: u32): i32;
@external("mock", "copyBuffer")
declare function mockCopyBuffer(type: u32, pointer: usize): void;
@external("mock", "logCount")
declare function mockLogCount(): i32;
@external("mock", "logLevel")
declare function mockLogLevel(index: i32): i32;
@external("mock", "logLength")
declare function mockLogLength(index: i32): i32;
@external("mock", "copyLog")
declare function mockCopyLog(index: i32, pointer: usize): void;
@external("mock", "metric")
declare function mockMetric(name: usize, nameLength: usize): f64;

@external("mock", "setSharedData")
declare function mockSetSharedData(key: usize, keyLength: usize, value: usize, valueLength: usize): void;
@external("mock", "sharedDataLength")
declare function mockSharedDataLength(key: usize, keyLength: usize): i32;
@external("mock", "copySharedData")
declare function mockCopySharedData(key: usize, keyLength: usize, pointer: usize): void;
@external("mock", "failSharedData")
declare function mockFailSharedData(result: u32): void;
@external("mock", "conflictAfterReads")
declare function mockConflictAfterReads(key: usize, keyLength: usize, times: i32): void;
@external("mock", "tickPeriod")
declare function mockTickPeriod(): f64;
@external("mock", "failTickPeriod")
declare function mockFailTickPeriod(result: u32): void;

@external("mock", "setResponseHeader")
declare function mockSetResponseHeader(key: usize, keyLength: usize, value: usize, valueLength: usize): void;
@external("mock", "httpCallCount")
declare function mockHttpCallCount(): i32;
@external("mock", "httpCallLength")
declare function mockHttpCallLength(index: i32): i32;
@external("mock", "copyHttpCall")
declare function mockCopyHttpCall(index: i32, pointer: usize): void;

/** A header of the HTTP call's answer, as proxy_get_header_map_value(6) reads it. */
export function setResponseHeader(key: string, value: string): void {
  const keyUtf8 = String.UTF8.encode(key);
  const valueUtf8 = String.UTF8.encode(value);
  mockSetResponseHeader(changetype<usize>(keyUtf8), keyUtf8.byteLength, changetype<usize>(valueUtf8), valueUtf8.byteLength);
}

/** The HTTP calls sent, each as `<cluster> <timeout> <name=value,...> body <size>`. */
export function httpCalls(): string[] {
  const count = mockHttpCallCount();
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const bytes = new ArrayBuffer(mockHttpCallLength(i));
    mockCopyHttpCall(i, changetype<usize>(bytes));
    out[i] = String.UTF8.decode(bytes);
  }
  return out;
}

export function resetHost(): void {
  mockReset();
}

/** Bytes from a string of code points 0..255, one byte each (so "\xff" is the byte 0xff). */
export function bytesOf(latin1: string): ArrayBuffer {
  const out = new ArrayBuffer(latin1.length);
  for (let i = 0; i < latin1.length; i++) store<u8>(changetype<usize>(out) + i, <u8>latin1.charCodeAt(i));
  return out;
}

export function setProperty(path: string, value: ArrayBuffer): void {
  const utf8 = String.UTF8.encode(path);
  mockSetProperty(changetype<usize>(utf8), utf8.byteLength, changetype<usize>(value), value.byteLength);
}

export function setStringProperty(path: string, value: string): void {
  setProperty(path, String.UTF8.encode(value));
}

export function failProperty(path: string, result: u32): void {
  const utf8 = String.UTF8.encode(path);
  mockFailProperty(changetype<usize>(utf8), utf8.byteLength, result);
}

export function setBuffer(type: u32, data: ArrayBuffer): void {
  mockSetBuffer(type, changetype<usize>(data), data.byteLength);
}

export function setTime(milliseconds: f64): void {
  mockSetTime(milliseconds);
}

/** What proxy_get_log_level answers from now on: trace 0 .. critical 5, 6 for off. */
export function setHostLogLevel(level: u32): void {
  mockSetHostLogLevel(level);
}

/** Makes proxy_get_log_level answer `result` (not Ok) without a level. */
export function failHostLogLevel(result: u32): void {
  mockFailHostLogLevel(result);
}

/** How many times the plugin has asked the log level since the last reset. */
export function hostLogLevelQueries(): i32 {
  return mockHostLogLevelQueries();
}

/** How many properties the plugin has read since the last reset. */
export function propertyReads(): i32 {
  return mockPropertyReads();
}

/** Makes proxy_continue_stream answer `result` from now on. */
export function setContinueResult(result: u32): void {
  mockSetContinueResult(result);
}

/** The proxy_continue_stream and proxy_close_stream calls so far: `continue 2`, `close 3`. */
export function streamCalls(): string[] {
  const calls: string[] = [];
  const count = mockStreamCallCount();
  for (let i = 0; i < count; i++) {
    const call = new ArrayBuffer(mockStreamCallLength(i));
    mockCopyStreamCall(i, changetype<usize>(call));
    calls.push(String.UTF8.decode(call));
  }
  return calls;
}

/** A network buffer as the host holds it now, after the plugin's edits; Latin-1, one character a byte. */
export function bufferText(type: u32): string {
  const data = new ArrayBuffer(mockBufferLength(type));
  mockCopyBuffer(type, changetype<usize>(data));
  let text = "";
  for (let i = 0; i < data.byteLength; i++) text += String.fromCharCode(load<u8>(changetype<usize>(data) + i));
  return text;
}

/** Every log line so far as `<level> <message>`, level 0 trace .. 5 critical. */
export function logLines(): string[] {
  const lines: string[] = [];
  const count = mockLogCount();
  for (let i = 0; i < count; i++) {
    const message = new ArrayBuffer(mockLogLength(i));
    mockCopyLog(i, changetype<usize>(message));
    lines.push(mockLogLevel(i).toString() + " " + String.UTF8.decode(message));
  }
  return lines;
}

/** The value of a metric by name, -1 when it was never defined. */
export function metric(name: string): f64 {
  const utf8 = String.UTF8.encode(name);
  return mockMetric(changetype<usize>(utf8), utf8.byteLength);
}

/** A pairs blob (docs/envoy-host.md §5) from keys and values given as bytes. */
export function pairsOf(keys: ArrayBuffer[], values: ArrayBuffer[]): ArrayBuffer {
  let size = 4 + keys.length * 8;
  for (let i = 0; i < keys.length; i++) size += keys[i].byteLength + 1 + values[i].byteLength + 1;
  const out = new ArrayBuffer(size);
  const base = changetype<usize>(out);
  store<u32>(base, keys.length);
  let offset = 4 + keys.length * 8;
  for (let i = 0; i < keys.length; i++) {
    store<u32>(base + 4 + i * 8, keys[i].byteLength);
    store<u32>(base + 8 + i * 8, values[i].byteLength);
    memory.copy(base + offset, changetype<usize>(keys[i]), keys[i].byteLength);
    offset += keys[i].byteLength + 1;
    memory.copy(base + offset, changetype<usize>(values[i]), values[i].byteLength);
    offset += values[i].byteLength + 1;
  }
  return out;
}

/** Stores `value` under the shared-data `key`, as another VM would (a fresh cas). */
export function setSharedBytes(key: string, value: ArrayBuffer): void {
  const utf8 = String.UTF8.encode(key);
  mockSetSharedData(changetype<usize>(utf8), utf8.byteLength, changetype<usize>(value), value.byteLength);
}

/** The shared-data value of `key`, or null when there is none. */
export function sharedBytes(key: string): ArrayBuffer | null {
  const utf8 = String.UTF8.encode(key);
  const length = mockSharedDataLength(changetype<usize>(utf8), utf8.byteLength);
  if (length < 0) return null;
  const value = new ArrayBuffer(length);
  mockCopySharedData(changetype<usize>(utf8), utf8.byteLength, changetype<usize>(value));
  return value;
}

/** Makes proxy_get_shared_data and proxy_set_shared_data answer `result` (not Ok) from now on. */
export function failSharedData(result: u32): void {
  mockFailSharedData(result);
}

/** After each of the next `times` reads of the counter `key`, another VM adds 1 to it. */
export function conflictAfterReads(key: string, times: i32): void {
  const utf8 = String.UTF8.encode(key);
  mockConflictAfterReads(changetype<usize>(utf8), utf8.byteLength, times);
}

/** The last tick period the plugin set, -1 for none. */
export function tickPeriod(): f64 {
  return mockTickPeriod();
}

/** Makes proxy_set_tick_period_milliseconds answer `result` (not Ok) from now on. */
export function failTickPeriod(result: u32): void {
  mockFailTickPeriod(result);
}
