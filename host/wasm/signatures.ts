// The signatures of a module's function exports, read from its binary: JavaScript's WebAssembly
// API does not tell a function's types, and Envoy refuses a module whose callbacks have the
// wrong ones (docs/envoy-host.md §1). Only the type, import, function and export sections are
// read; the module has already been validated by WebAssembly.Module.

import type { Signature, ValType } from "./abi.ts";

const SECTION = { type: 1, import: 2, function: 3, export: 7 };
const FUNCTION_TYPE = 0x60;
const VALUE_TYPES: Record<number, ValType | "f32" | "v128" | "funcref" | "externref"> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
};
const IMPORT_KIND = { function: 0, table: 1, memory: 2, global: 3, tag: 4 };

/** A function's types as found in a module: value types the ABI never uses included. */
export interface ModuleSignature {
  params: readonly string[];
  results: readonly string[];
}

/**
 * The signature of each function the module exports, by export name; null when the module uses
 * an encoding this reader does not know (a later proposal's types), so that nothing is checked.
 */
export function exportSignatures(bytes: Uint8Array): Map<string, ModuleSignature> | null {
  try {
    return readExports(new Reader(bytes));
  } catch (error) {
    if (error instanceof UnknownEncoding) return null;
    throw error;
  }
}

/** `i32 i32 -> i32`, `void -> void`: cpp-host's way of printing a signature. */
export function formatSignature(signature: Signature | ModuleSignature): string {
  const types = (list: readonly string[]) => (list.length === 0 ? "void" : list.join(" "));
  return `${types(signature.params)} -> ${types(signature.results)}`;
}

export function sameSignature(a: Signature | ModuleSignature, b: Signature | ModuleSignature): boolean {
  const same = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((type, i) => type === y[i]);
  return same(a.params, b.params) && same(a.results, b.results);
}

class UnknownEncoding extends Error {}

function readExports(reader: Reader): Map<string, ModuleSignature> {
  reader.skip(8); // magic and version
  const types: ModuleSignature[] = [];
  const functionTypes: number[] = []; // type index of each function, imported ones first
  const exports = new Map<string, ModuleSignature>();
  while (!reader.done) {
    const id = reader.byte();
    const section = reader.slice(reader.u32());
    if (id === SECTION.type) section.vector(() => types.push(readFunctionType(section)));
    else if (id === SECTION.import) section.vector(() => readImport(section, functionTypes));
    else if (id === SECTION.function) section.vector(() => functionTypes.push(section.u32()));
    else if (id === SECTION.export) {
      section.vector(() => {
        const name = section.name();
        const kind = section.byte();
        const index = section.u32();
        if (kind === IMPORT_KIND.function) exports.set(name, types[functionTypes[index]]);
      });
    }
  }
  return exports;
}

function readFunctionType(reader: Reader): ModuleSignature {
  if (reader.byte() !== FUNCTION_TYPE) throw new UnknownEncoding();
  const valueTypes = () => {
    const list: string[] = [];
    reader.vector(() => list.push(VALUE_TYPES[reader.byte()] ?? unknown()));
    return list;
  };
  return { params: valueTypes(), results: valueTypes() };
}

function readImport(reader: Reader, functionTypes: number[]): void {
  reader.name();
  reader.name();
  switch (reader.byte()) {
    case IMPORT_KIND.function:
      functionTypes.push(reader.u32());
      return;
    case IMPORT_KIND.table:
      reader.byte();
      return readLimits(reader);
    case IMPORT_KIND.memory:
      return readLimits(reader);
    case IMPORT_KIND.global:
      reader.skip(2);
      return;
    case IMPORT_KIND.tag:
      reader.byte();
      reader.u32();
      return;
    default:
      unknown();
  }
}

function readLimits(reader: Reader): void {
  const flags = reader.byte();
  reader.u32();
  if (flags & 1) reader.u32();
}

function unknown(): never {
  throw new UnknownEncoding();
}

/** Little-endian base-128 words and length-prefixed vectors, as the binary format writes them. */
class Reader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  byte(): number {
    if (this.at >= this.bytes.length) unknown();
    return this.bytes[this.at++];
  }

  /** An unsigned LEB128 number (memory64 limits included: read whole, kept as a double). */
  u32(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
  }

  skip(count: number): void {
    this.at += count;
  }

  slice(length: number): Reader {
    const reader = new Reader(this.bytes.subarray(this.at, this.at + length));
    this.at += length;
    return reader;
  }

  vector(each: () => void): void {
    for (let count = this.u32(); count > 0; count--) each();
  }

  name(): string {
    const length = this.u32();
    const text = new TextDecoder().decode(this.bytes.subarray(this.at, this.at + length));
    this.at += length;
    return text;
  }
}
