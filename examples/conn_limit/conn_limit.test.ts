// The release build/conn_limit.wasm in the local host's proxy-wasm host: connections counted per
// source IP in shared data across worker VMs (and plugins of one vm_id), refused at the limit,
// given back once when done; the tick's gauges and summary line; compare-and-swap conflicts
// between VMs; configuration errors. Shared data as cpp-host keeps it: docs/envoy-host.md §20.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  FilterStartError, SharedData, startFilter, traceLine, type FilterUnderTest, type TestConnection,
} from "../../host/testing/index.ts";
import { assertEnvoyModule } from "../../tests/helpers/envoy-module.ts";

const WASM_PATH = new URL("../../build/conn_limit.wasm", import.meta.url).pathname;
const VM_ID = "conn_limit";
/** Far longer than any test: the only ticks are the ones a test asks for (FilterUnderTest.tick). */
const NO_TIMER_TICKS = '"tick_ms": 3600000';

interface StartOptions {
  limit?: number;
  concurrency?: number;
  sharedData?: SharedData;
  vmId?: string;
}

function start({ limit = 2, concurrency = 1, sharedData = new SharedData(), vmId = VM_ID }: StartOptions = {}): FilterUnderTest {
  return startFilter({
    wasm: WASM_PATH,
    rootId: "conn_limit",
    vmId,
    configuration: `{"max_connections_per_source": ${limit}, ${NO_TIMER_TICKS}}`,
    logLevel: "debug",
    concurrency,
    sharedData,
    trace: true,
  });
}

/** A client at `address` (a port of its own each time) on the listener. */
let nextPort = 40000;
function connectFrom(filter: FilterUnderTest, address: string): TestConnection {
  return filter.connect({ source: { address, port: nextPort++ }, destination: { address: "127.0.0.1", port: 18000 } });
}

/** The count stored for `ip`: the little-endian i64 under conn_limit/<ip>; undefined when there is none. */
function storedCount(shared: SharedData, ip: string, vmId = VM_ID): bigint | undefined {
  const entry = shared.of(vmId).get(`conn_limit/${ip}`);
  if (entry === undefined) return undefined;
  assert.equal(entry.value.length, 8);
  return Buffer.from(entry.value).readBigInt64LE();
}

/** What a connection became: the status of proxy_on_new_connection, whether the filter closed it, whether tcp_proxy connected. */
function outcome(connection: TestConnection): [string | undefined, boolean, boolean] {
  return [connection.newConnectionStatus, connection.closed, connection.upstreamStarted];
}

const ALLOWED: [string, boolean, boolean] = ["Continue", false, true];
const REFUSED: [string, boolean, boolean] = ["StopIteration", true, false];

/** The filter's lines, the `configured:` ones left out. */
function connectionMessages(filter: FilterUnderTest): string[] {
  return filter.messages().filter((line) => !line.includes(" configured: "));
}

function metrics(filter: FilterUnderTest): Array<bigint | undefined> {
  return ["allowed", "refused", "sources_at_limit", "open"].map((name) => filter.metric(`conn_limit_${name}`));
}

/** The shared-data calls of the filter's trace from `from` on, as the trace prints them. */
function sharedDataCalls(filter: FilterUnderTest, from = 0): string[] {
  return filter.trace
    .slice(from)
    .filter((event) => event.kind === "host" && event.name.includes("shared_data"))
    .map((event) => traceLine(event).replace(/^\[\d+\] +/, "").replace(/\([^)]*\)/, "(…)"));
}

/**
 * A store where a test runs something of its own right after a VM reads a key, before that VM
 * writes it back: what another worker does when it updates the key at that moment.
 */
class InterleavedSharedData extends SharedData {
  private between: { key: string; action: () => void } | undefined;

  /** Runs `action` once, after the next read of `key`. */
  afterNextRead(key: string, action: () => void): void {
    this.between = { key, action };
  }

  override of(vmId: string) {
    const area = super.of(vmId);
    return {
      get: (key: string) => {
        const entry = area.get(key);
        const between = this.between;
        if (between !== undefined && between.key === key) {
          this.between = undefined;
          between.action();
        }
        return entry;
      },
      set: area.set,
    };
  }
}

describe("release build/conn_limit.wasm", () => {
  it("exports the ABI 0.2.1 marker alone, imports only what Envoy provides, and stays within 40 KiB", () => {
    assertEnvoyModule(WASM_PATH);
  });

  it("logs its configuration on each VM: the canary, the main thread's, the worker's", () => {
    const filter = startFilter({ wasm: WASM_PATH, rootId: "conn_limit", configuration: '{"max_connections_per_source": 3}' });
    assert.deepEqual(filter.messages(), Array(3).fill("info configured: max_connections_per_source=3 tick_ms=1000"));
    filter.close();
  });

  it("lets a source open max_connections_per_source, closes the next at once before tcp_proxy connects, and takes one again once one is done", () => {
    const shared = new SharedData();
    const filter = start({ limit: 2, sharedData: shared });
    const first = connectFrom(filter, "10.0.0.1");
    const second = connectFrom(filter, "10.0.0.1");
    assert.equal(storedCount(shared, "10.0.0.1"), 2n);
    const third = connectFrom(filter, "10.0.0.1");
    // Another source has its own count.
    const other = connectFrom(filter, "10.0.0.2");
    assert.deepEqual([first, second, third, other].map(outcome), [ALLOWED, ALLOWED, REFUSED, ALLOWED]);
    assert.deepEqual(third.events, ["close downstream"]);
    assert.deepEqual([storedCount(shared, "10.0.0.1"), storedCount(shared, "10.0.0.2")], [2n, 1n]);
    // The refused connection was never counted: its end gives nothing back.
    third.close("local");
    assert.equal(storedCount(shared, "10.0.0.1"), 2n);
    // Both close callbacks come (upstream, then downstream), and the count goes down by one.
    first.upstreamClose();
    first.close("remote");
    assert.equal(storedCount(shared, "10.0.0.1"), 1n);
    const fourth = connectFrom(filter, "10.0.0.1");
    assert.deepEqual(outcome(fourth), ALLOWED);
    assert.deepEqual(connectionMessages(filter), [
      `debug connection ${first.contextId}: source 10.0.0.1: 1 of 2 connections open`,
      `debug connection ${second.contextId}: source 10.0.0.1: 2 of 2 connections open`,
      `info connection ${third.contextId}: refused: source 10.0.0.1 has 2 connections open, max_connections_per_source is 2`,
      `debug connection ${other.contextId}: source 10.0.0.2: 1 of 2 connections open`,
      `debug connection ${fourth.contextId}: source 10.0.0.1: 2 of 2 connections open`,
    ]);
    // The gauges are the tick's: none has come yet.
    assert.deepEqual(metrics(filter), [4n, 1n, 0n, 0n]);
    for (const connection of [second, other, fourth]) connection.close("remote");
    assert.deepEqual([storedCount(shared, "10.0.0.1"), storedCount(shared, "10.0.0.2")], [0n, 0n]);
    filter.close();
  });

  it("counts an IPv6 source under its canonical text", () => {
    const shared = new SharedData();
    const filter = start({ limit: 1, sharedData: shared });
    const first = filter.connect({ source: { address: "2001:DB8:0::7", port: 40000 }, destination: { address: "2001:db8::2", port: 18000 } });
    const second = filter.connect({ source: { address: "2001:db8::7", port: 40001 }, destination: { address: "2001:db8::2", port: 18000 } });
    assert.deepEqual([outcome(first), outcome(second)], [ALLOWED, REFUSED]);
    assert.equal(storedCount(shared, "2001:db8::7"), 1n);
    filter.close();
  });

  it("two worker VMs count in the same shared data: the limit holds across them", () => {
    const shared = new SharedData();
    const filter = start({ limit: 2, concurrency: 2, sharedData: shared });
    // Connections go to the workers in turn; each VM numbers its contexts from 2.
    const connections = [1, 2, 3].map(() => connectFrom(filter, "10.0.0.1"));
    assert.deepEqual(connections.map((connection) => connection.contextId), [2, 2, 3]);
    assert.deepEqual(connections.map(outcome), [ALLOWED, ALLOWED, REFUSED]);
    assert.equal(storedCount(shared, "10.0.0.1"), 2n);
    // The first worker's connection ends; the second worker takes the next one.
    connections[0].close("remote");
    const next = connectFrom(filter, "10.0.0.1");
    assert.deepEqual([next.contextId, outcome(next)], [3, ALLOWED]);
    assert.equal(storedCount(shared, "10.0.0.1"), 2n);
    filter.close();
  });

  it("two plugins with one vm_id share the counts; another vm_id counts on its own", () => {
    const shared = new SharedData();
    const one = start({ limit: 1, sharedData: shared });
    const two = start({ limit: 1, sharedData: shared });
    const elsewhere = start({ limit: 1, sharedData: shared, vmId: "other" });
    const first = connectFrom(one, "10.0.0.1");
    const second = connectFrom(two, "10.0.0.1");
    const third = connectFrom(elsewhere, "10.0.0.1");
    assert.deepEqual([first, second, third].map(outcome), [ALLOWED, REFUSED, ALLOWED]);
    assert.deepEqual([storedCount(shared, "10.0.0.1"), storedCount(shared, "10.0.0.1", "other")], [1n, 1n]);
    for (const filter of [one, two, elsewhere]) filter.close();
  });

  it("each VM's tick sets the gauges from the shared counts, and logs the summary when it changed", () => {
    const filter = start({ limit: 2, concurrency: 2 });
    const connections = ["10.0.0.1", "10.0.0.1", "10.0.0.2"].map((address) => connectFrom(filter, address));
    const before = filter.messages().length;
    // The main thread's VM and both workers' tick.
    assert.equal(filter.tick(), 3);
    assert.deepEqual(filter.messages().slice(before), Array(3).fill("info tick: open=3 sources=2 at_limit=1"));
    assert.deepEqual(metrics(filter), [3n, 0n, 1n, 3n]);
    // Nothing changed: no line.
    assert.equal(filter.tick(), 3);
    assert.equal(filter.messages().length, before + 3);
    for (const connection of connections) connection.close("remote");
    assert.equal(filter.tick(), 3);
    assert.deepEqual(filter.messages().slice(before + 3), Array(3).fill("info tick: open=0 sources=2 at_limit=0"));
    assert.deepEqual(metrics(filter), [3n, 0n, 0n, 0n]);
    filter.close();
  });

  it("a compare-and-swap conflict with another VM: the read is retried, and the other VM's connection counts", () => {
    const shared = new InterleavedSharedData();
    const one = start({ limit: 2, sharedData: shared });
    const two = start({ limit: 2, sharedData: shared });
    connectFrom(two, "10.0.0.1");
    // Between the first VM's read (count 1) and its write, the other VM's connection takes the
    // count to 2: the first VM's write is refused, it reads 2 again and refuses its connection.
    let between: TestConnection | undefined;
    shared.afterNextRead("conn_limit/10.0.0.1", () => {
      between = connectFrom(two, "10.0.0.1");
    });
    const from = one.trace.length;
    const refused = connectFrom(one, "10.0.0.1");
    assert.deepEqual([outcome(between!), outcome(refused)], [ALLOWED, REFUSED]);
    assert.deepEqual(sharedDataCalls(one, from), [
      // The trace shows an 8-byte value as the number it holds.
      "proxy_get_shared_data(…) → Ok  conn_limit/10.0.0.1 = 1, cas 1",
      "proxy_set_shared_data(…) → CasMismatch  conn_limit/10.0.0.1 = 2",
      "proxy_get_shared_data(…) → Ok  conn_limit/10.0.0.1 = 2, cas 3",
    ]);
    assert.equal(storedCount(shared, "10.0.0.1"), 2n);
    assert.deepEqual(connectionMessages(one), [
      `info connection ${refused.contextId}: refused: source 10.0.0.1 has 2 connections open, max_connections_per_source is 2`,
    ]);
    one.close();
    two.close();
  });

  it("gives up after 16 conflicting updates in a row, logs it, and lets the connection pass uncounted", () => {
    const shared = new InterleavedSharedData();
    const filter = start({ limit: 1000, sharedData: shared });
    connectFrom(filter, "10.0.0.1");
    // Another VM's write after each of the 16 reads.
    const area = shared.of(VM_ID);
    let conflicts = 0;
    const conflict = () => {
      conflicts++;
      const value = Buffer.alloc(8);
      value.writeBigInt64LE(100n + BigInt(conflicts));
      area.set("conn_limit/10.0.0.1", value, 0);
      if (conflicts < 16) shared.afterNextRead("conn_limit/10.0.0.1", conflict);
    };
    shared.afterNextRead("conn_limit/10.0.0.1", conflict);
    const passed = connectFrom(filter, "10.0.0.1");
    assert.equal(conflicts, 16);
    assert.deepEqual(outcome(passed), ALLOWED);
    assert.equal(connectionMessages(filter).at(-1), "error shared counter conn_limit/10.0.0.1: gave up after 16 conflicting updates");
    assert.equal(storedCount(shared, "10.0.0.1"), 116n);
    // Not counted, so its end gives nothing back.
    passed.close("remote");
    assert.equal(storedCount(shared, "10.0.0.1"), 116n);
    assert.deepEqual(metrics(filter).slice(0, 2), [2n, 0n]);
    filter.close();
  });

  it("a value that is not a counter: an error naming the key, the connection passes, the value is left alone", () => {
    const shared = new SharedData();
    const filter = start({ sharedData: shared });
    shared.of(VM_ID).set("conn_limit/10.0.0.1", Buffer.from("abc"), 0);
    const passed = connectFrom(filter, "10.0.0.1");
    assert.deepEqual(outcome(passed), ALLOWED);
    assert.deepEqual(connectionMessages(filter), ["error shared counter conn_limit/10.0.0.1: its value has 3 bytes, not 8"]);
    assert.deepEqual(shared.of(VM_ID).get("conn_limit/10.0.0.1")?.value, Buffer.from("abc"));
    filter.close();
  });

  it("a connection without a source address is not limited, with a warning", () => {
    const filter = start({ limit: 1 });
    const connections = [1, 2].map(() => filter.connect({ source: null }));
    assert.deepEqual(connections.map(outcome), [ALLOWED, ALLOWED]);
    assert.deepEqual(connectionMessages(filter), connections.map(
      (connection) => `warning connection ${connection.contextId}: not limited: no source IP address (NotFound)`,
    ));
    filter.close();
  });
});

/** Starting conn_limit with `configuration` fails: its error line, then Envoy's from the canary. */
function assertRefused(configuration: string, error: string): void {
  let refused: FilterStartError | undefined;
  try {
    startFilter({ wasm: WASM_PATH, name: "conn_limit", rootId: "conn_limit", configuration });
  } catch (caught) {
    if (caught instanceof FilterStartError) refused = caught;
  }
  assert.ok(refused, "the configuration was taken");
  assert.deepEqual(refused.messages, [`error invalid plugin configuration: ${error}`]);
}

describe("conn_limit's configuration errors: one line naming the setting, the configuration refused", () => {
  it("max_connections_per_source is required", () => {
    assertRefused("", '"max_connections_per_source" is required');
    assertRefused(`{${NO_TIMER_TICKS}}`, '"max_connections_per_source" is required');
  });

  it("max_connections_per_source from 1 to 1000000", () => {
    for (const value of ["0", "1000001", '"4"', "-1", "2.5", "null"]) {
      assertRefused(`{"max_connections_per_source": ${value}}`, '"max_connections_per_source" must be an integer from 1 to 1000000');
    }
  });

  it("tick_ms from 1 to 3600000", () => {
    for (const value of ["0", "3600001", '"1000"']) {
      assertRefused(`{"max_connections_per_source": 1, "tick_ms": ${value}}`, '"tick_ms" must be an integer from 1 to 3600000 (milliseconds)');
    }
  });

  it("an unknown key, a duplicate key, malformed JSON", () => {
    assertRefused('{"max_connections_per_source": 1, "max_connection": 2}', 'unknown key "max_connection"');
    assertRefused('{"max_connections_per_source": 1, "max_connections_per_source": 2}', 'duplicate key "max_connections_per_source"');
    assert.throws(() => startFilter({ wasm: WASM_PATH, rootId: "conn_limit", configuration: "{" }), FilterStartError);
  });
});
