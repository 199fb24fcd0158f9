// The proxy-wasm "pairs" encoding of a map (header maps, and maps/Struct read as properties):
// u32 count, then per entry u32 key length and u32 value length, then per entry the key and the
// value each followed by a NUL byte. All integers little-endian.

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
