// Searching raw bytes, as filters that wait for a delimiter (a line's LF) need.

/** Where the first `byte` of `bytes` is, or -1. Read through the bytes' address: no per-byte reference counting. */
export function indexOfByte(bytes: ArrayBuffer, byte: u8): i32 {
  const start = changetype<usize>(bytes);
  const length = bytes.byteLength;
  for (let i = 0; i < length; i++) {
    if (load<u8>(start + i) == byte) return i;
  }
  return -1;
}
