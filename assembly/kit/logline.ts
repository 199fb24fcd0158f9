// Log lines written as bytes into one buffer that is kept, then handed to proxy_log. A connection
// logs about a dozen lines at info: joining strings cost an allocation per piece and a UTF-16 to
// UTF-8 copy per line. One line at a time: begin, append, send. Callers build only the lines the
// host prints (logLevel in log.ts).

import { LogLevelValues } from "@solo-io/proxy-runtime/runtime";
import { escapeTo, MAX_ESCAPED_WIDTH } from "./escape";
import { logBytes } from "./host";

/** Grows to the longest line so far and stays: memory does not churn per line. */
let buffer = new ArrayBuffer(512);
let length = 0;

/** The address at which `size` more bytes fit. */
function reserve(size: i32): usize {
  const needed = length + size;
  if (needed > buffer.byteLength) {
    let capacity = buffer.byteLength << 1;
    while (capacity < needed) capacity <<= 1;
    const grown = new ArrayBuffer(capacity);
    memory.copy(changetype<usize>(grown), changetype<usize>(buffer), length);
    buffer = grown;
  }
  return changetype<usize>(buffer) + length;
}

/** Starts a new line. */
export function begin(): void {
  length = 0;
}

/** Appends text as UTF-8. */
export function text(value: string): void {
  const at = reserve(value.length * 3); // a UTF-16 code unit takes at most 3 bytes of UTF-8
  length += <i32>String.UTF8.encodeUnsafe(changetype<usize>(value), value.length, at);
}

/** Appends a number in decimal. */
export function decimal(value: u64): void {
  let digits = 1;
  for (let rest = value / 10; rest > 0; rest /= 10) digits++;
  const at = reserve(digits);
  for (let i = digits - 1; i >= 0; i--) {
    store<u8>(at + i, <u8>(0x30 + value % 10));
    value /= 10;
  }
  length += digits;
}

/** Appends bytes escaped (see escapeTo in escape.ts): raw data never reaches the line as it is. */
export function escaped(bytes: ArrayBuffer): void {
  const size = bytes.byteLength;
  const at = reserve(size * MAX_ESCAPED_WIDTH);
  length += <i32>(escapeTo<u8>(at, changetype<usize>(bytes), size) - at);
}

/** Logs the line. */
export function send(level: LogLevelValues): void {
  logBytes(level, changetype<usize>(buffer), length);
}
