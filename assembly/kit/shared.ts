// Counters and lists kept in the host's shared data, which every VM of one vm_id sees: the main
// thread's and every worker's (docs/envoy-host.md §20). Workers run at the same time, so every
// change is a compare-and-swap: read the value and its cas, write the new value with that cas, and
// read again when another VM wrote in between (CasMismatch).
//
// What the store cannot do: a key that is not there takes any cas, so two VMs creating the same
// key at the same moment both succeed and the second write wins. Keys are never removed (ABI 0.2.1
// has no call for it): once created, a key is only ever changed under its cas.

import { LogLevelValues, WasmResultValues } from "@solo-io/proxy-runtime/runtime";
import { getSharedData, resultName, setSharedData, SharedBytes } from "./host";
import { log } from "./log";

/** A counter is stored as a little-endian i64: 8 bytes. */
export const COUNTER_BYTES: i32 = 8;

/**
 * Updates tried before giving up. Each CasMismatch means another VM's update of the same key went
 * through, so running out takes that many updates of one key landing within one of ours.
 */
export const MAX_SHARED_ATTEMPTS: i32 = 16;

/** How a counter update ended. */
export enum SharedUpdate {
  /** stored (or nothing to store: a decrement at 0) */
  Done,
  /** not stored: the value is at the ceiling already */
  AtLimit,
  /** not stored: the host refused, the value is not a counter, or the retries ran out (logged) */
  Failed,
}

// Filled in place: a VM runs one callback at a time.
const valueRead = new SharedBytes();
const valueOut = new ArrayBuffer(COUNTER_BYTES);

/** An i64 counter under one shared-data key. */
export class SharedCounter {
  /** the key as text, for log lines */
  readonly name: string;
  private key: ArrayBuffer;
  /** the value as last read or stored; 0 for a key that is not there */
  value: i64 = 0;
  /** the value before the last stored update */
  previous: i64 = 0;
  /** the last stored update created the key */
  created: bool = false;
  private cas: u32 = 0;
  private exists: bool = false;

  constructor(name: string) {
    this.name = name;
    this.key = String.UTF8.encode(name);
  }

  /** Reads the value (0 when the key is not there); false, with an error logged, when it cannot. */
  read(): bool {
    const cas = getSharedData(this.key, valueRead).cas;
    const result = valueRead.result;
    if (result == WasmResultValues.NotFound) {
      this.exists = false;
      this.cas = 0;
      this.value = 0;
      return true;
    }
    if (result != WasmResultValues.Ok) {
      this.logError("cannot read it: " + resultName(result));
      return false;
    }
    const bytes = valueRead.bytes;
    if (bytes.byteLength != COUNTER_BYTES) {
      this.logError("its value has " + bytes.byteLength.toString() + " bytes, not " + COUNTER_BYTES.toString());
      valueRead.release();
      return false;
    }
    this.exists = true;
    this.cas = cas;
    this.value = load<i64>(changetype<usize>(bytes));
    valueRead.release();
    return true;
  }

  /** Adds 1 unless the value is `limit` or more already (AtLimit, `value` is what it is). */
  incrementBelow(limit: i64): SharedUpdate {
    return this.change(1, limit);
  }

  /** true when it added 1; false at the limit or on a failure (logged). */
  tryIncrementBelow(limit: i64): bool {
    return this.incrementBelow(limit) == SharedUpdate.Done;
  }

  /** Subtracts 1, never going below 0 (a count a lost update left short stays at 0). */
  decrement(): SharedUpdate {
    return this.change(-1, i64.MAX_VALUE);
  }

  /** Adds `delta`, refused above `ceiling`, kept at 0 or more; retried on CasMismatch. */
  private change(delta: i64, ceiling: i64): SharedUpdate {
    this.created = false;
    for (let attempt = 0; attempt < MAX_SHARED_ATTEMPTS; attempt++) {
      if (!this.read()) return SharedUpdate.Failed;
      const current = this.value;
      if (delta > 0 && current > ceiling - delta) return SharedUpdate.AtLimit;
      let next = current + delta;
      if (next < 0) next = 0;
      if (next == current) return SharedUpdate.Done; // a decrement at 0: nothing to store
      store<i64>(changetype<usize>(valueOut), next);
      const result = setSharedData(this.key, valueOut, this.cas);
      if (result == WasmResultValues.Ok) {
        this.previous = current;
        this.value = next;
        this.created = !this.exists;
        return SharedUpdate.Done;
      }
      if (result != WasmResultValues.CasMismatch) {
        this.logError("cannot store it: " + resultName(result));
        return SharedUpdate.Failed;
      }
    }
    this.logError("gave up after " + MAX_SHARED_ATTEMPTS.toString() + " conflicting updates");
    return SharedUpdate.Failed;
  }

  private logError(message: string): void {
    log(LogLevelValues.error, "shared counter " + this.name + ": " + message);
  }
}

/** Filled in place, as valueRead. */
const listRead = new SharedBytes();
const SEPARATOR: u8 = 0x0a; // "\n"

/**
 * A set of short texts under one shared-data key, one per line, in the order they were added.
 * It only grows: for a small set of names (keys of other entries, say) that every VM should know.
 */
export class SharedList {
  /** the key as text, for log lines */
  readonly name: string;
  private key: ArrayBuffer;
  /** the items as last read */
  items: string[] = [];
  /** the stored bytes as last read */
  private stored: ArrayBuffer = new ArrayBuffer(0);
  private cas: u32 = 0;

  constructor(name: string) {
    this.name = name;
    this.key = String.UTF8.encode(name);
  }

  /** Reads the items (none when the key is not there); false, with an error logged, when it cannot. */
  read(): bool {
    const cas = getSharedData(this.key, listRead).cas;
    const result = listRead.result;
    if (result == WasmResultValues.NotFound) {
      this.cas = 0;
      this.items = [];
      this.stored = listRead.bytes; // empty
      return true;
    }
    if (result != WasmResultValues.Ok) {
      this.logError("cannot read it: " + resultName(result));
      return false;
    }
    this.cas = cas;
    this.stored = listRead.bytes;
    listRead.release();
    const text = String.UTF8.decode(this.stored);
    this.items = text.length == 0 ? [] : text.split("\n");
    return true;
  }

  /** Adds `item` (no line break in it) unless it is there; false on a failure (logged). */
  add(item: string): bool {
    for (let attempt = 0; attempt < MAX_SHARED_ATTEMPTS; attempt++) {
      if (!this.read()) return false;
      if (this.items.includes(item)) return true;
      // Not `cond ? local : call`: AssemblyScript 0.17 may free the local (docs/toolchain.md).
      let stored = String.UTF8.encode(item);
      if (this.stored.byteLength > 0) stored = joinLine(this.stored, stored);
      const result = setSharedData(this.key, stored, this.cas);
      if (result == WasmResultValues.Ok) {
        this.items.push(item);
        this.stored = stored;
        return true;
      }
      if (result != WasmResultValues.CasMismatch) {
        this.logError("cannot store it: " + resultName(result));
        return false;
      }
    }
    this.logError("gave up after " + MAX_SHARED_ATTEMPTS.toString() + " conflicting updates");
    return false;
  }

  private logError(message: string): void {
    log(LogLevelValues.error, "shared list " + this.name + ": " + message);
  }
}

/** `head`, a line break, `tail`. */
function joinLine(head: ArrayBuffer, tail: ArrayBuffer): ArrayBuffer {
  const out = new ArrayBuffer(head.byteLength + 1 + tail.byteLength);
  const at = changetype<usize>(out);
  memory.copy(at, changetype<usize>(head), head.byteLength);
  store<u8>(at + head.byteLength, SEPARATOR);
  memory.copy(at + head.byteLength + 1, changetype<usize>(tail), tail.byteLength);
  return out;
}
