// How the trace shows what crossed the boundary: counts, the words the host wrote back (read
// again from module memory after the call), and module text and values, escaped and cut so that
// no module byte can act on a terminal. The describers of the ABI table use these.

import { decodeUtf8 } from "./bytes.ts";
import type { WasmMemory } from "./memory.ts";
import { decodePairs } from "./pairs.ts";

/** Characters of a string shown before it is cut. */
const MAX_SHOWN = 60;

export function byteCount(size: number): string {
  return size === 1 ? "1 byte" : `${size} bytes`;
}

// ---------------------------------------------------------------- words written back

export function u32(memory: WasmMemory, ptr: number): number {
  const bytes = memory.bytes(ptr, 4);
  return bytes === null ? 0 : new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
}

export function u64(memory: WasmMemory, ptr: number): bigint {
  const bytes = memory.bytes(ptr, 8);
  return bytes === null ? 0n : new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

// ---------------------------------------------------------------- module text and values

/** Module text, escaped; "" when out of bounds. */
export function text(memory: WasmMemory, ptr: number, size: number): string {
  return escape(memory.string(ptr, size) ?? "");
}

/** A property path as segments joined by dots (the module joins them with NUL). */
export function propertyPath(memory: WasmMemory, ptr: number, size: number): string {
  const path = memory.string(ptr, size);
  return path === null ? "" : escape(path.replace(/\0$/, "").replaceAll("\0", "."));
}

/** Controls other than tab, newline and carriage return: bytes that make a value binary. */
const BINARY_CONTROL = /[\0-\x08\x0b\x0c\x0e-\x1f\x7f]/;

/**
 * A property or shared value, told by its bytes (docs/envoy-host.md §5): a pairs map as
 * `pairs{n}`, text quoted, 8 bytes as an integer (or, when no plausible integer, a double),
 * one byte 0 or 1 as a bool, anything else (protobuf messages) as `bytes{n}`.
 */
export function value(memory: WasmMemory, ptr: number, size: number): string {
  const bytes = memory.bytes(ptr, size);
  if (bytes === null) return "";
  const pairs = decodePairs(bytes);
  if (pairs !== null) return `pairs{${pairs.length}}`;
  const decoded = decodeUtf8(bytes);
  if (decoded !== null && !BINARY_CONTROL.test(decoded)) return `"${escape(decoded)}"`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (bytes.length === 8) {
    const integer = view.getBigInt64(0, true);
    const safe = integer >= BigInt(Number.MIN_SAFE_INTEGER) && integer <= BigInt(Number.MAX_SAFE_INTEGER);
    return safe ? String(integer) : String(view.getFloat64(0, true));
  }
  if (bytes.length === 1 && bytes[0] <= 1) return bytes[0] === 1 ? "true" : "false";
  return `bytes{${bytes.length}}`;
}

/**
 * Text as the trace shows it: cut after MAX_SHOWN characters (`…(+N)` tells how many more),
 * backslash, quote, control and format characters escaped.
 */
export function escape(text: string): string {
  const characters = [...text];
  const shown = characters.length > MAX_SHOWN ? characters.slice(0, MAX_SHOWN).join("") : text;
  const escaped = shown.replace(/[\\"\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, escapeCharacter);
  return characters.length > MAX_SHOWN ? `${escaped}…(+${characters.length - MAX_SHOWN})` : escaped;
}

function escapeCharacter(character: string): string {
  switch (character) {
    case "\\":
    case '"':
      return "\\" + character;
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
  }
  const code = character.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
}
