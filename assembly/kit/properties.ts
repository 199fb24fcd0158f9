// Envoy properties (docs/envoy-host.md §5), read with the result code checked (proxy-runtime's
// get_property aborts the VM on NotFound), and the pairs encoding maps come back in.

/**
 * readProperty(path: ArrayBuffer, into: HostBytes = new HostBytes()): HostBytes reads the property
 * at `path`: UTF-8, segments joined by NUL, e.g. `String.UTF8.encode("xds\0cluster_name")`. Encode
 * paths once, not per read. A property that is absent answers NotFound in `result`. The answer goes
 * into `into` (see HostBytes): a filter that reads a property on every connection keeps one for it.
 * It is host.ts's getProperty under the name filters know, not a call around it: AS 0.17 would
 * count the two references passed at each level (docs/toolchain.md).
 */
export { getProperty as readProperty } from "./host";

/** One key and its value, of a property in the pairs encoding. */
export class Pair {
  key: ArrayBuffer;
  value: ArrayBuffer;

  constructor(key: ArrayBuffer, value: ArrayBuffer) {
    this.key = key;
    this.value = value;
  }
}

/** The entries of a pairs blob in their encoded order, or why the blob is not one. */
export class DecodedPairs {
  pairs: Pair[] = [];
  /** empty when the blob decoded */
  error: string = "";

  static failure(reason: string): DecodedPairs {
    const decoded = new DecodedPairs();
    decoded.error = reason;
    return decoded;
  }
}

/**
 * Whether `size` bytes at `pointer` are exactly a pairs encoding (see decodePairs): what
 * decodePairs checks, without copying anything, for values that are seldom maps.
 */
export function isPairs(pointer: usize, size: usize): bool {
  const total = <u64>size;
  if (total < 4) return false;
  const count = <u64>load<u32>(pointer);
  let offset: u64 = 4 + count * 8;
  if (offset > total) return false;
  for (let i: u64 = 0; i < count; i++) {
    const valueStart = offset + <u64>load<u32>(pointer + <usize>(4 + i * 8)) + 1;
    offset = valueStart + <u64>load<u32>(pointer + <usize>(8 + i * 8)) + 1;
    if (offset > total) return false;
    if (load<u8>(pointer + <usize>(valueStart - 1)) != 0 || load<u8>(pointer + <usize>(offset - 1)) != 0) return false;
  }
  return offset == total;
}

/**
 * Decodes the pairs encoding: a u32 entry count; a u32 key length and a u32 value length per
 * entry; then each key and each value followed by a NUL byte. The blob must be exactly that long.
 */
export function decodePairs(blob: ArrayBuffer): DecodedPairs {
  const base = changetype<usize>(blob);
  const size = <u64>blob.byteLength;
  if (size < 4) return DecodedPairs.failure(size.toString() + " bytes, too short for an entry count");
  const count = <u64>load<u32>(base);
  let offset: u64 = 4 + count * 8;
  if (offset > size) {
    return DecodedPairs.failure(count.toString() + " entries do not fit in " + size.toString() + " bytes");
  }
  const decoded = new DecodedPairs();
  for (let i: u64 = 0; i < count; i++) {
    const keyLength = <u64>load<u32>(base + <usize>(4 + i * 8));
    const valueLength = <u64>load<u32>(base + <usize>(8 + i * 8));
    const keyStart = offset;
    const valueStart = keyStart + keyLength + 1;
    offset = valueStart + valueLength + 1;
    if (offset > size) {
      return DecodedPairs.failure("entry " + i.toString() + " runs past the end of " + size.toString() + " bytes");
    }
    if (load<u8>(base + <usize>(valueStart - 1)) != 0 || load<u8>(base + <usize>(offset - 1)) != 0) {
      return DecodedPairs.failure("entry " + i.toString() + " is not NUL-terminated");
    }
    decoded.pairs.push(new Pair(blob.slice(<i32>keyStart, <i32>(keyStart + keyLength)), blob.slice(<i32>valueStart, <i32>(valueStart + valueLength))));
  }
  if (offset != size) return DecodedPairs.failure((size - offset).toString() + " trailing bytes");
  return decoded;
}
