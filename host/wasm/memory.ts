// The host's only window on a module's linear memory: bounds-checked reads and writes, and
// blocks handed to the module through its own allocator.

import { WasmResult } from "./abi.ts";
import { decodeText } from "./bytes.ts";

export class WasmMemory {
  bytesCopiedIn = 0;
  mallocCalls = 0;
  private buffer: ArrayBuffer;
  private u8: Uint8Array;
  private view: DataView;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly malloc: (size: number) => number,
  ) {
    this.buffer = memory.buffer;
    this.u8 = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
  }

  get size(): number {
    return this.memory.buffer.byteLength;
  }

  /** memory.grow replaces the ArrayBuffer: views must follow it. */
  private refresh(): void {
    if (this.memory.buffer !== this.buffer) {
      this.buffer = this.memory.buffer;
      this.u8 = new Uint8Array(this.buffer);
      this.view = new DataView(this.buffer);
    }
  }

  inBounds(ptr: number, length: number): boolean {
    // memory.grow detaches the ArrayBuffer it replaces (its length becomes 0): a range that
    // ends before the end of the one held is in the current memory, without asking for it.
    if (ptr + length >= this.buffer.byteLength) this.refresh();
    return ptr >= 0 && length >= 0 && ptr + length <= this.buffer.byteLength;
  }

  /** A view of module memory, valid until the module next runs (it may grow memory); null when out of bounds. */
  bytes(ptr: number, length: number): Uint8Array | null {
    if (!this.inBounds(ptr, length)) return null;
    return this.u8.subarray(ptr, ptr + length);
  }

  /** A copy of module memory; null when out of bounds. */
  copy(ptr: number, length: number): Uint8Array | null {
    return this.bytes(ptr, length)?.slice() ?? null;
  }

  string(ptr: number, length: number): string | null {
    const bytes = this.bytes(ptr, length);
    return bytes === null ? null : decodeText(bytes);
  }

  writeU32(ptr: number, value: number): boolean {
    if (!this.inBounds(ptr, 4)) return false;
    this.view.setUint32(ptr, value, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    if (!this.inBounds(ptr, 8)) return false;
    this.view.setBigUint64(ptr, value, true);
    return true;
  }

  write(ptr: number, data: Uint8Array): boolean {
    if (!this.inBounds(ptr, data.length)) return false;
    this.u8.set(data, ptr);
    return true;
  }

  /**
   * Hand `data` to the module: a block from its allocator (none when data is empty), then the
   * block's address and length written as words at ptrPtr and sizePtr.
   */
  copyOut(data: Uint8Array, ptrPtr: number, sizePtr: number): WasmResult {
    let ptr = 0;
    if (data.length > 0) {
      this.mallocCalls++;
      ptr = this.malloc(data.length);
      if (ptr === 0 || !this.write(ptr, data)) return WasmResult.InvalidMemoryAccess;
      this.bytesCopiedIn += data.length;
    }
    if (!this.writeU32(ptrPtr, ptr) || !this.writeU32(sizePtr, data.length)) return WasmResult.InvalidMemoryAccess;
    return WasmResult.Ok;
  }
}
