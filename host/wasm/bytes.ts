// Byte buffers as network data: joined, never mutated in place; and module text as the host reads it.

export const EMPTY_BYTES = new Uint8Array(0);

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const decoder = new TextDecoder();

/** Module bytes as text: UTF-8, an invalid sequence replaced with U+FFFD. */
export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
