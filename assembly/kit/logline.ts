// Log lines written as bytes into one buffer that is kept, then handed to proxy_log. A connection
// logs about a dozen lines at info: joining strings cost an allocation per piece and a UTF-16 to
// UTF-8 copy per line. One line at a time: begin, append, send. Callers build only the lines the
// host prints (logLevel in log.ts). Text is mostly ASCII: it is copied four characters at a time.

import { LogLevelValues } from "@solo-io/proxy-runtime/runtime";
import { escapeTo, MAX_ESCAPED_WIDTH } from "./escape";
import { logBytes } from "./host";
import { logLevel } from "./log";

/** Grows to the longest line so far and stays: memory does not churn per line. */
let buffer = new ArrayBuffer(512);
let length = 0;

/**
 * The address at which `size` more bytes fit. Inlined into every append, as is copy(): a line is
 * made of short appends, and a call costs about what a short copy does. Growing is not inlined.
 */
// @ts-ignore: decorator
@inline
function reserve(size: i32): usize {
  const needed = length + size;
  if (needed > buffer.byteLength) grow(needed);
  return changetype<usize>(buffer) + length;
}

/** Makes the buffer hold at least `needed` bytes, keeping the line so far. */
function grow(needed: i32): void {
  let capacity = buffer.byteLength << 1;
  while (capacity < needed) capacity <<= 1;
  const grown = new ArrayBuffer(capacity);
  memory.copy(changetype<usize>(grown), changetype<usize>(buffer), length);
  buffer = grown;
}

/** Starts a new line. */
export function begin(): void {
  length = 0;
}

/** Copies `size` bytes, eight at a time: short copies are what lines are made of. */
// @ts-ignore: decorator
@inline
function copy(to: usize, from: usize, size: usize): void {
  let i: usize = 0;
  for (; i + 8 <= size; i += 8) store<u64>(to + i, load<u64>(from + i));
  for (; i < size; i++) store<u8>(to + i, load<u8>(from + i));
}

/** Appends bytes that are already UTF-8 text, as they are. */
export function bytes(value: ArrayBuffer): void {
  const size = value.byteLength;
  copy(reserve(size), changetype<usize>(value), size);
  length += size;
}

/** Bits that are set in four UTF-16 code units (one u64) when one of them is not ASCII. */
const NOT_ASCII: u64 = 0xff80ff80ff80ff80;

/** Appends text as UTF-8: ASCII four characters at a time, the rest (from the first other character) encoded. */
export function text(value: string): void {
  const units = <usize>value.length;
  const at = reserve(<i32>units * 3); // a UTF-16 code unit takes at most 3 bytes of UTF-8
  const source = changetype<usize>(value);
  let i: usize = 0;
  for (; i + 4 <= units; i += 4) {
    const four = load<u64>(source + (i << 1));
    if (four & NOT_ASCII) break;
    store<u32>(at + i, <u32>(four & 0xff) | <u32>((four >> 8) & 0xff00) | <u32>((four >> 16) & 0xff0000) | <u32>((four >> 24) & 0xff000000));
  }
  for (; i < units; i++) {
    const unit = load<u16>(source + (i << 1));
    if (unit >= 0x80) break;
    store<u8>(at + i, <u8>unit);
  }
  length += <i32>i;
  if (i < units) length += <i32>String.UTF8.encodeUnsafe(source + (i << 1), <i32>(units - i), at + i);
}

/** Appends a number in decimal. */
export function decimal(value: u64): void {
  // 32-bit division is cheaper, and ids, sizes and durations mostly fit.
  if (value <= <u64>u32.MAX_VALUE) writeDecimal<u32>(<u32>value);
  else writeDecimal<u64>(value);
}

function writeDecimal<T>(value: T): void {
  // Counted by comparing, not dividing: ids and sizes mostly have a few digits.
  let digits = 1;
  for (let bound = <T>10; value >= bound; bound *= 10) {
    digits++;
    if (digits == (sizeof<T>() == 8 ? 20 : 10)) break; // the largest power of ten T holds is passed
  }
  const at = reserve(digits);
  for (let i = digits - 1; i >= 0; i--) {
    store<u8>(at + i, <u8>(0x30 + value % 10));
    value /= 10;
  }
  length += digits;
}

/** Appends bytes escaped (see escapeTo in escape.ts): raw data never reaches the line as it is. */
export function escaped(data: ArrayBuffer): void {
  escapedAt(changetype<usize>(data), data.byteLength);
}

/** Appends `size` bytes at `pointer`, escaped. */
export function escapedAt(pointer: usize, size: usize): void {
  const at = reserve(<i32>size * MAX_ESCAPED_WIDTH);
  length += <i32>(escapeTo<u8>(at, pointer, size) - at);
}

/** Says that `count` bytes were left out of what precedes: ` ... (+N bytes)`, as previews end. */
export function omitted(count: u64): void {
  text(" ... (+");
  decimal(count);
  text(" bytes)");
}

/**
 * Appends at most `budget` bytes of `data`, escaped, between two `quote`s (none unless given), and
 * ` ... (+N bytes)` when that is not all: a value of any length takes a bounded part of the line.
 */
export function preview(data: ArrayBuffer, budget: usize, quote: string = ""): void {
  const size = <usize>data.byteLength;
  const shown = size <= budget ? size : budget;
  if (quote.length > 0) text(quote);
  escapedAt(changetype<usize>(data), shown);
  if (quote.length > 0) text(quote);
  if (shown < size) omitted(size - shown);
}

/**
 * What preview() appends, as a string, for text that is not a line of its own (an error message
 * is one part of a line): the line in progress, if any, is left as it was.
 */
export function previewText(data: ArrayBuffer, budget: usize, quote: string = ""): string {
  const start = length;
  preview(data, budget, quote);
  // Escaped bytes and the note are ASCII, a quote is text: valid UTF-8.
  const shown = String.UTF8.decodeUnsafe(changetype<usize>(buffer) + start, length - start);
  length = start;
  return shown;
}

/** Where the line ends now: what is appended after it can be taken with since(). */
export function mark(): i32 {
  return length;
}

/** A copy of the bytes appended since `start` (a mark()), to append again later with bytes(). */
export function since(start: i32): ArrayBuffer {
  const taken = new ArrayBuffer(length - start);
  copy(changetype<usize>(taken), changetype<usize>(buffer) + start, length - start);
  return taken;
}

/** Logs the line. */
export function send(level: LogLevelValues): void {
  logBytes(level, changetype<usize>(buffer), length);
}

/**
 * One log line written in one statement, built only when the host shows its level:
 * `logLine(LogLevelValues.info).text("configured ").decimal(count).send()`. When the level is
 * hidden, every method returns at once: nothing is appended and nothing is sent. Its arguments
 * are still evaluated, so give it values at hand (literals, numbers, bytes already read), not
 * strings built for it.
 */
export class LogLine {
  private level: LogLevelValues = LogLevelValues.info;
  /** whether the host shows `level`: when not, the methods do nothing */
  private shown: bool = false;

  /** Starts the line at `level`; `shown` says whether the host prints that level. */
  open(level: LogLevelValues, shown: bool): LogLine {
    this.level = level;
    this.shown = shown;
    return this;
  }

  /** Appends text as UTF-8. */
  text(value: string): LogLine {
    if (this.shown) text(value);
    return this;
  }

  /** Appends bytes that are already UTF-8 text, as they are. */
  bytes(value: ArrayBuffer): LogLine {
    if (this.shown) bytes(value);
    return this;
  }

  /** Appends a number in decimal. */
  decimal(value: u64): LogLine {
    if (this.shown) decimal(value);
    return this;
  }

  /** Appends bytes escaped: raw data never reaches the line as it is. */
  escaped(data: ArrayBuffer): LogLine {
    if (this.shown) escaped(data);
    return this;
  }

  /** Appends at most `budget` bytes of `data`, escaped, as preview() does. */
  preview(data: ArrayBuffer, budget: usize, quote: string = ""): LogLine {
    if (this.shown) preview(data, budget, quote);
    return this;
  }

  /** Logs the line, if the host shows its level. */
  send(): void {
    if (this.shown) send(this.level);
  }
}

/** The one line being written: a VM runs one callback at a time, and a line is one statement. */
const current = new LogLine();

/** A log line at `level` without a connection's prefix (a plugin's line); see LogLine. */
export function logLine(level: LogLevelValues): LogLine {
  const shown = logLevel() <= level;
  if (shown) begin();
  return current.open(level, shown);
}

/** The line a caller has begun itself (Connection.logLine), at `level`, shown or not. */
export function continueLine(level: LogLevelValues, shown: bool): LogLine {
  return current.open(level, shown);
}
