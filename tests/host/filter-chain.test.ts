// docs/envoy-host.md §3: the filter chain as Envoy's filter manager drives it
// (FilterManagerImpl::onContinueReading, source/common/network/filter_manager_impl.cc): one read
// buffer per connection, new connections in order, StopIteration leaving the bytes in the buffer
// for the next read, continueReading resuming after the filter, and nothing passing once a
// filter closed the connection.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ByteBuffer } from "../../host/buffer.ts";
import { FilterChain } from "../../host/net/connection/filter-chain.ts";
import type { ConnectionFilter, FilterConnection, FilterFactory, FilterStatus, ReadFilterCallbacks } from "../../host/wasm/api.ts";

const INFO = { source: { address: "127.0.0.1", port: 4660 }, destination: { address: "127.0.0.1", port: 18000 }, listenerName: "main" };
const text = (data: Uint8Array) => Buffer.from(data).toString();

/** A filter that logs its calls, answers `newConnection` to its new connection, and `data` to each read. */
class ScriptedFilter implements ConnectionFilter {
  callbacks!: ReadFilterCallbacks;
  constructor(
    private readonly name: string,
    private readonly log: string[],
    private readonly newConnection: FilterStatus,
    public data: FilterStatus = "Continue",
  ) {}
  onNewConnection(): FilterStatus {
    this.log.push(`${this.name} new connection`);
    return this.newConnection;
  }
  onData(buffer: ByteBuffer, endOfStream: boolean): FilterStatus {
    this.log.push(`${this.name} data "${text(buffer.bytes)}"${endOfStream ? " eos" : ""}`);
    return this.data;
  }
  onWrite(buffer: ByteBuffer): FilterStatus {
    this.log.push(`${this.name} write "${text(buffer.bytes)}"`);
    buffer.add(Buffer.from(`+${this.name.at(-1)}`));
    return "Continue";
  }
  onDownstreamClose(peer: "local" | "remote"): void {
    this.log.push(`${this.name} closed ${peer}`);
  }
}

function chainOf(...answers: FilterStatus[]) {
  const log: string[] = [];
  const filters = answers.map((answer, i) => new ScriptedFilter(`filter ${i}`, log, answer));
  const factories: FilterFactory[] = filters.map((filter) => ({
    createFilter(_info, callbacks) {
      filter.callbacks = callbacks;
      return filter;
    },
  }));
  const connection: FilterConnection & { open: boolean } = {
    open: true,
    close() {
      log.push("close");
      connection.open = false;
    },
  };
  let terminalStarted = false;
  // a tcp_proxy whose upstream connects at once: the bytes that reach it go on in the same walk
  const chain = new FilterChain(factories, INFO, connection, () => ({
    onNewConnection() {
      log.push("tcp_proxy new connection");
      terminalStarted = true;
      return "Continue";
    },
    onData(buffer, endOfStream) {
      log.push(`tcp_proxy data "${text(buffer.take())}"${endOfStream ? " eos" : ""}`);
      return "StopIteration";
    },
  }));
  return { chain, filters, log, connection, started: () => terminalStarted };
}

test("every filter's new connection, in order, then tcp_proxy's", () => {
  const { chain, log, started } = chainOf("Continue", "Continue");
  chain.initialize();
  assert.deepEqual(log, ["filter 0 new connection", "filter 1 new connection", "tcp_proxy new connection"]);
  assert.equal(started(), true);
});

test("StopIteration holds the filters after the filter; continueReading starts them, once", () => {
  const { chain, filters, log, started } = chainOf("StopIteration", "Continue");
  chain.initialize();
  assert.deepEqual(log, ["filter 0 new connection"]);
  assert.equal(started(), false);
  filters[0].callbacks.continueReading();
  filters[0].callbacks.continueReading();
  assert.deepEqual(log, ["filter 0 new connection", "filter 1 new connection", "tcp_proxy new connection"]);
});

test("a read after a held new connection goes to the filter; its Continue starts the filters after it first", () => {
  const { chain, log } = chainOf("StopIteration");
  chain.initialize();
  chain.onRead(Buffer.from("hi"), false);
  assert.deepEqual(log, ["filter 0 new connection", 'filter 0 data "hi"', "tcp_proxy new connection", 'tcp_proxy data "hi"']);
  assert.equal(chain.readBuffer.length, 0);
});

test("StopIteration on data leaves the bytes in the read buffer: the next read starts again at the first filter, with all of them", () => {
  const { chain, filters, log } = chainOf("Continue", "Continue");
  filters[1].data = "StopIteration";
  chain.initialize();
  chain.onRead(Buffer.from("ab"), false);
  assert.equal(Buffer.from(chain.readBuffer.bytes).toString(), "ab");
  filters[1].data = "Continue";
  chain.onRead(Buffer.from("c"), false);
  assert.deepEqual(log.slice(3), ['filter 0 data "ab"', 'filter 1 data "ab"', 'filter 0 data "abc"', 'filter 1 data "abc"', 'tcp_proxy data "abc"']);
  assert.equal(chain.readBuffer.length, 0);
});

test("continueReading passes the held buffer, and the end of stream with it, to the filters after the one that held it", () => {
  const { chain, filters, log } = chainOf("StopIteration", "StopIteration");
  chain.initialize();
  chain.onRead(Buffer.from("ab"), true);
  // filter 0 continued: filter 1's new connection came first, and held the buffer
  assert.deepEqual(log, ["filter 0 new connection", 'filter 0 data "ab" eos', "filter 1 new connection"]);
  filters[1].callbacks.continueReading();
  assert.deepEqual(log.slice(3), ["tcp_proxy new connection", 'tcp_proxy data "ab" eos']);
});

test("writes go through the filters last to first, each seeing the one before's edit", () => {
  const { chain } = chainOf("Continue", "Continue");
  chain.initialize();
  assert.equal(text(chain.onWrite(Buffer.from("reply"), false)!), "reply+1+0");
});

test("nothing passes once a filter has closed the connection, and held filters never start", () => {
  const { chain, filters, log, connection, started } = chainOf("StopIteration");
  chain.initialize();
  filters[0].callbacks.connection.close();
  filters[0].callbacks.continueReading();
  chain.onRead(Buffer.from("x"), false);
  assert.equal(chain.onWrite(Buffer.from("y"), false), null);
  assert.deepEqual(log, ["filter 0 new connection", "close"]);
  assert.equal(connection.open, false);
  assert.equal(started(), false);
});

test("the downstream close reaches every filter, in order", () => {
  const { chain, log } = chainOf("Continue", "Continue");
  chain.onDownstreamClose("remote");
  assert.deepEqual(log, ["filter 0 closed remote", "filter 1 closed remote"]);
});
