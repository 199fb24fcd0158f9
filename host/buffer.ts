// A connection's data as Envoy's Buffer::Instance holds it for the filters: the filter chain keeps
// one read buffer per connection, and each write to the client is one buffer through the write
// filters. A filter edits it in place (drain, prepend, add); the next filter sees the edit. Bytes
// handed in are kept as they are, never copied until two pieces must be joined, and never
// changed in place.

export const EMPTY_BYTES = new Uint8Array(0);

/** `a` then `b`, in a new array: the one way bytes are joined, here and in the wasm side. */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export class ByteBuffer {
  private data: Uint8Array;

  constructor(data: Uint8Array = EMPTY_BYTES) {
    this.data = data;
  }

  get length(): number {
    return this.data.length;
  }

  /** The bytes held now; a view to read at once, not to keep across an edit. */
  get bytes(): Uint8Array {
    return this.data;
  }

  /** Bytes at the end (Envoy's Buffer::add). */
  add(bytes: Uint8Array): void {
    if (bytes.length > 0) this.data = this.data.length === 0 ? bytes : concatBytes(this.data, bytes);
  }

  /** Bytes at the front (Envoy's Buffer::prepend). */
  prepend(bytes: Uint8Array): void {
    if (bytes.length > 0) this.data = this.data.length === 0 ? bytes : concatBytes(bytes, this.data);
  }

  /** The first `count` bytes removed (Envoy's Buffer::drain); all of them when it is larger. */
  drain(count: number): void {
    this.data = count >= this.data.length ? EMPTY_BYTES : this.data.subarray(count);
  }

  /** Every byte held, removed from the buffer: what a filter passes on (Envoy's move). */
  take(): Uint8Array {
    const data = this.data;
    this.data = EMPTY_BYTES;
    return data;
  }
}
