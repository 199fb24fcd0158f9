// docs/envoy-host.md §3: the filter chain as Envoy's filter manager drives it
// (FilterManagerImpl::onContinueReading): new connections in order, StopIteration holding the
// stages after a filter until it continues, and nothing passing once a filter closed the connection.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FilterChain } from "../../host/net/filter-chain.ts";
import type { FilterCallbacks, FilterFactory, FilterStatus, NetworkFilter } from "../../host/wasm/api.ts";

const INFO = { source: { address: "127.0.0.1", port: 4660 }, destination: { address: "127.0.0.1", port: 18000 }, listenerName: "main" };
const text = (data: Uint8Array) => Buffer.from(data).toString();

/** A filter that logs its calls, answers `newConnection` to its new connection, and passes data on. */
class ScriptedFilter implements NetworkFilter {
  callbacks!: FilterCallbacks;
  constructor(
    private readonly name: string,
    private readonly log: string[],
    private readonly newConnection: FilterStatus,
  ) {}
  onNewConnection(): FilterStatus {
    this.log.push(`${this.name} new connection`);
    return this.newConnection;
  }
  onClusterSelected(): void {}
  onUpstreamConnected(): void {}
  onDownstreamData(data: Uint8Array, endOfStream: boolean): FilterStatus {
    this.log.push(`${this.name} data "${text(data)}"`);
    this.callbacks.forwardDownstream(data, endOfStream);
    return "Continue";
  }
  onUpstreamData(data: Uint8Array, endOfStream: boolean): FilterStatus {
    this.callbacks.forwardUpstream(data, endOfStream);
    return "Continue";
  }
  onUpstreamClose(): void {}
  onDownstreamClose(): void {}
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
  const chain = new FilterChain(factories, INFO, {
    startTerminal: () => log.push("tcp_proxy new connection"),
    toUpstream: (data, endOfStream) => log.push(`tcp_proxy data "${text(data)}"${endOfStream ? " eos" : ""}`),
    toClient: (data) => log.push(`client "${text(data)}"`),
    closeDownstream: () => log.push("close"),
  });
  return { chain, filters, log };
}

test("every filter's new connection, in order, then tcp_proxy's", () => {
  const { chain, log } = chainOf("Continue", "Continue");
  chain.start();
  assert.deepEqual(log, ["filter 0 new connection", "filter 1 new connection", "tcp_proxy new connection"]);
  assert.equal(chain.terminalStarted, true);
});

test("StopIteration holds the stages after the filter; continueReading starts them, once", () => {
  const { chain, filters, log } = chainOf("StopIteration", "Continue");
  chain.start();
  assert.deepEqual(log, ["filter 0 new connection"]);
  assert.equal(chain.terminalStarted, false);
  filters[0].callbacks.continueReading();
  filters[0].callbacks.continueReading();
  assert.deepEqual(log, ["filter 0 new connection", "filter 1 new connection", "tcp_proxy new connection"]);
});

test("data the holding filter passes on starts the stages after it first", () => {
  const { chain, log } = chainOf("StopIteration");
  chain.start();
  chain.downstreamData(Buffer.from("hi"), false);
  assert.deepEqual(log, ["filter 0 new connection", 'filter 0 data "hi"', "tcp_proxy new connection", 'tcp_proxy data "hi"']);
});

test("bytes reaching a filter that holds its new connection wait for it, as Envoy's read buffer keeps them", () => {
  const { chain, log } = chainOf("StopIteration", "StopIteration");
  chain.start();
  // filter 0 passes the bytes on: filter 1's new connection comes first, and holds them
  chain.downstreamData(Buffer.from("ab"), false);
  assert.deepEqual(log, ["filter 0 new connection", 'filter 0 data "ab"', "filter 1 new connection"]);
  // the next read reaches filter 1 with both chunks
  chain.downstreamData(Buffer.from("c"), false);
  assert.deepEqual(log.slice(3), ['filter 0 data "c"', 'filter 1 data "abc"', "tcp_proxy new connection", 'tcp_proxy data "abc"']);
});

test("a filter that continues after holding bytes at its new connection passes them to the next stage", () => {
  const { chain, filters, log } = chainOf("StopIteration", "StopIteration");
  chain.start();
  chain.downstreamData(Buffer.from("ab"), true);
  filters[1].callbacks.continueReading();
  assert.deepEqual(log, ["filter 0 new connection", 'filter 0 data "ab"', "filter 1 new connection", "tcp_proxy new connection", 'tcp_proxy data "ab" eos']);
});

test("nothing passes once a filter has closed the connection, and held stages never start", () => {
  const { chain, filters, log } = chainOf("StopIteration");
  chain.start();
  filters[0].callbacks.closeDownstream();
  filters[0].callbacks.continueReading();
  chain.downstreamData(Buffer.from("x"), false);
  chain.upstreamData(Buffer.from("y"), false);
  assert.deepEqual(log, ["filter 0 new connection", "close"]);
  assert.equal(chain.terminalStarted, false);
});
