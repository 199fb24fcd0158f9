// The proxy-wasm "pairs" encoding of a map (header maps, and maps/Struct read as properties):
// u32 count, then per entry u32 key length and u32 value length, then per entry the key and the
// value each followed by a NUL byte. All integers little-endian. Written and read here only.

export type Pair = readonly [key: Uint8Array, value: Uint8Array];

export function encodePairs(pairs: readonly Pair[]): Uint8Array {
  let size = 4;
  for (const [key, value] of pairs) size += 8 + key.length + 1 + value.length + 1;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, pairs.length, true);
  let sizes = 4;
  let bytes = 4 + 8 * pairs.length;
  for (const [key, value] of pairs) {
    view.setUint32(sizes, key.length, true);
    view.setUint32(sizes + 4, value.length, true);
    sizes += 8;
    out.set(key, bytes);
    bytes += key.length + 1;
    out.set(value, bytes);
    bytes += value.length + 1;
  }
  return out;
}

/** The entries, as views of `bytes`, when the bytes are exactly a pairs encoding; else null. */
export function decodePairs(bytes: Uint8Array): Pair[] | null {
  if (bytes.length < 4) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const count = view.getUint32(0, true);
  let at = 4 + 8 * count;
  if (at > bytes.length) return null;
  const pairs: Pair[] = [];
  for (let i = 0; i < count; i++) {
    const key = field(view.getUint32(4 + 8 * i, true));
    const value = key && field(view.getUint32(8 + 8 * i, true));
    if (!key || !value) return null;
    pairs.push([key, value]);
  }
  return at === bytes.length ? pairs : null;

  /** The next `size` bytes, which must be followed by a NUL; null when they are not. */
  function field(size: number): Uint8Array | null {
    const start = at;
    at += size;
    if (at >= bytes.length || bytes[at] !== 0) return null;
    at += 1;
    return bytes.subarray(start, start + size);
  }
}
