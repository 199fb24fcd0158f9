// The kit's shared counters and lists (assembly/kit/shared.ts) and its tick period
// (assembly/kit/tick.ts) against the mocked host, which keeps shared data by cpp-host's rules
// (docs/envoy-host.md §20): NotFound for a missing key, any cas for a new key, 0 or the current
// cas for an existing one, CasMismatch otherwise.

import { SharedCounter, SharedList, SharedUpdate, MAX_SHARED_ATTEMPTS } from "../../assembly/kit/shared";
import { setTickPeriod } from "../../assembly/kit/tick";
import {
  bytesOf, conflictAfterReads, failSharedData, failTickPeriod, logLines, resetHost, setSharedBytes, sharedBytes, tickPeriod,
} from "./mock";

export { malloc } from "@solo-io/proxy-runtime/malloc";

const INTERNAL_FAILURE: u32 = 10;

/** The counter stored under `key`: its 8 bytes as a little-endian i64; -1 when the key is not there. */
function stored(key: string): i64 {
  const bytes = sharedBytes(key);
  if (bytes === null) return -1;
  expect(bytes.byteLength).toBe(8);
  return load<i64>(changetype<usize>(bytes));
}

function storeCounter(key: string, value: i64): void {
  const bytes = new ArrayBuffer(8);
  store<i64>(changetype<usize>(bytes), value);
  setSharedBytes(key, bytes);
}

describe("SharedCounter", () => {
  beforeEach(() => {
    resetHost();
  });

  it("reads 0 for a key that is not there, and a decrement leaves it absent", () => {
    const counter = new SharedCounter("k");
    expect(counter.read()).toBe(true);
    expect(counter.value).toBe(0);
    expect(counter.decrement()).toBe(SharedUpdate.Done);
    expect(stored("k")).toBe(-1);
  });

  it("creates the key with its first increment, as an 8-byte little-endian i64", () => {
    const counter = new SharedCounter("k");
    expect(counter.incrementBelow(3)).toBe(SharedUpdate.Done);
    expect([counter.value, counter.previous]).toStrictEqual([<i64>1, <i64>0]);
    expect(counter.created).toBe(true);
    expect(stored("k")).toBe(1);
    expect(counter.incrementBelow(3)).toBe(SharedUpdate.Done);
    expect(counter.created).toBe(false);
    expect(stored("k")).toBe(2);
  });

  it("stops at the limit: AtLimit, nothing stored, the value as it is", () => {
    storeCounter("k", 3);
    const counter = new SharedCounter("k");
    expect(counter.tryIncrementBelow(3)).toBe(false);
    expect(counter.incrementBelow(3)).toBe(SharedUpdate.AtLimit);
    expect(counter.value).toBe(3);
    expect(stored("k")).toBe(3);
    expect(counter.tryIncrementBelow(4)).toBe(true);
    expect(stored("k")).toBe(4);
  });

  it("decrements to 0 and no further", () => {
    storeCounter("k", 1);
    const counter = new SharedCounter("k");
    expect(counter.decrement()).toBe(SharedUpdate.Done);
    expect(stored("k")).toBe(0);
    expect(counter.decrement()).toBe(SharedUpdate.Done);
    expect(stored("k")).toBe(0);
  });

  it("reads again after a CasMismatch, and adds to what the other VM stored", () => {
    storeCounter("k", 1);
    conflictAfterReads("k", 1);
    const counter = new SharedCounter("k");
    expect(counter.incrementBelow(5)).toBe(SharedUpdate.Done);
    // 1, the other VM's 2, then ours: 3.
    expect(stored("k")).toBe(3);
    expect(counter.previous).toBe(2);
  });

  it("an update of another VM that reaches the limit: AtLimit on the second read", () => {
    storeCounter("k", 1);
    conflictAfterReads("k", 1);
    const counter = new SharedCounter("k");
    expect(counter.incrementBelow(2)).toBe(SharedUpdate.AtLimit);
    expect(stored("k")).toBe(2);
  });

  it("gives up after MAX_SHARED_ATTEMPTS conflicts in a row, with an error; one fewer still goes through", () => {
    storeCounter("k", 0);
    conflictAfterReads("k", MAX_SHARED_ATTEMPTS - 1);
    const counter = new SharedCounter("k");
    expect(counter.incrementBelow(1000)).toBe(SharedUpdate.Done);
    expect(stored("k")).toBe(MAX_SHARED_ATTEMPTS);
    expect(logLines()).toStrictEqual([]);
    conflictAfterReads("k", MAX_SHARED_ATTEMPTS);
    expect(counter.incrementBelow(1000)).toBe(SharedUpdate.Failed);
    expect(stored("k")).toBe(2 * MAX_SHARED_ATTEMPTS);
    expect(logLines()).toStrictEqual(["4 shared counter k: gave up after 16 conflicting updates"]);
  });

  it("a value that is not 8 bytes is not a counter: Failed, logged, left alone", () => {
    setSharedBytes("k", bytesOf("abc"));
    const counter = new SharedCounter("k");
    expect(counter.incrementBelow(5)).toBe(SharedUpdate.Failed);
    expect(counter.decrement()).toBe(SharedUpdate.Failed);
    expect(logLines()).toStrictEqual([
      "4 shared counter k: its value has 3 bytes, not 8",
      "4 shared counter k: its value has 3 bytes, not 8",
    ]);
    expect(String.UTF8.decode(sharedBytes("k")!)).toBe("abc");
  });

  it("a host that refuses: Failed, with the result named", () => {
    failSharedData(INTERNAL_FAILURE);
    const counter = new SharedCounter("k");
    expect(counter.read()).toBe(false);
    expect(counter.incrementBelow(5)).toBe(SharedUpdate.Failed);
    expect(logLines()).toStrictEqual([
      "4 shared counter k: cannot read it: InternalFailure",
      "4 shared counter k: cannot read it: InternalFailure",
    ]);
  });
});

describe("SharedList", () => {
  beforeEach(() => {
    resetHost();
  });

  it("adds each item once, one per line, in order; every reader sees them", () => {
    const list = new SharedList("sources");
    expect(list.read()).toBe(true);
    expect(list.items).toStrictEqual([]);
    expect(list.add("10.0.0.1")).toBe(true);
    expect(list.add("::1")).toBe(true);
    expect(list.add("10.0.0.1")).toBe(true);
    expect(String.UTF8.decode(sharedBytes("sources")!)).toBe("10.0.0.1\n::1");
    const other = new SharedList("sources");
    expect(other.read()).toBe(true);
    expect(other.items).toStrictEqual(["10.0.0.1", "::1"]);
  });

  it("adds to the list as it is stored now, with what other VMs added since its own read", () => {
    const list = new SharedList("sources");
    expect(list.add("a")).toBe(true);
    const other = new SharedList("sources");
    expect(other.read()).toBe(true);
    expect(list.add("b")).toBe(true);
    // `other` read before "b" was added: add reads again, and keeps "b".
    expect(other.add("c")).toBe(true);
    expect(String.UTF8.decode(sharedBytes("sources")!)).toBe("a\nb\nc");
  });

  it("a host that refuses: false, with the result named", () => {
    failSharedData(INTERNAL_FAILURE);
    expect(new SharedList("sources").add("a")).toBe(false);
    expect(logLines()).toStrictEqual(["4 shared list sources: cannot read it: InternalFailure"]);
  });
});

describe("setTickPeriod", () => {
  beforeEach(() => {
    resetHost();
  });

  it("sets the VM's tick period", () => {
    setTickPeriod(250);
    expect(tickPeriod()).toBe(250);
    setTickPeriod(0);
    expect(tickPeriod()).toBe(0);
  });

  it("logs a refused period", () => {
    failTickPeriod(INTERNAL_FAILURE);
    setTickPeriod(250);
    expect(tickPeriod()).toBe(-1);
    expect(logLines()).toStrictEqual(["4 cannot set the tick period to 250 ms: InternalFailure"]);
  });
});
