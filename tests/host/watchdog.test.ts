// docs/envoy-host.md §17: the marks a VM leaves of the call under way, and the watchdog that reads
// them (Envoy's miss and megamiss timeouts, and its stats), in one thread with a clock of its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CALL_MARKER_BYTES, CallMarker, CallReader, INSTANTIATION, type CallUnderWay } from "../../host/call-marker.ts";
import { createLogger } from "../../host/log.ts";
import { createStatsStore } from "../../host/stats.ts";
import { describeCall, Watchdog } from "../../host/watchdog.ts";
import { WatchdogStats } from "../../host/watchdog-stats.ts";
import { MARKED_CALL_NAMES, startWasmPlugin } from "../../host/wasm/api.ts";
import { pluginModule, writeWat } from "../helpers/wat.ts";
import { TestConnection } from "../../host/testing/index.ts";
import { pluginConfig } from "../helpers/wat-filters.ts";

function markerAndReader(): { marker: CallMarker; reader: CallReader } {
  const buffer = new SharedArrayBuffer(CALL_MARKER_BYTES);
  const reader = new CallReader(buffer);
  return { marker: new CallMarker(buffer, ["_initialize", "proxy_on_new_connection", "malloc"], (news) => reader.hear(news)), reader };
}

/** What the reader says, without the call's number. */
function seen(reader: CallReader): Omit<CallUnderWay, "number"> | null {
  const call = reader.current();
  return call === null ? null : { vm: call.vm, call: call.call, context: call.context };
}

test("the reader sees the outermost call under way, named, until it returns", () => {
  const { marker, reader } = markerAndReader();
  const vm = marker.addVm({ plugin: "p", role: "worker 0", thread: 2 });
  assert.equal(reader.current(), null);
  marker.enter(vm, 1, 2);
  const outer = reader.current()!;
  assert.deepEqual(seen(reader), { vm: { plugin: "p", role: "worker 0", thread: 2 }, call: "proxy_on_new_connection", context: 2 });
  // malloc inside it: still the same call
  marker.enter(vm, 2, 2);
  assert.equal(reader.current()!.number, outer.number);
  marker.leave();
  assert.equal(reader.current()!.number, outer.number);
  marker.leave();
  assert.equal(reader.current(), null);
  // the next call has a new number
  marker.enter(vm, 0, 0);
  assert.notEqual(reader.current()!.number, outer.number);
  assert.equal(reader.current()!.call, "_initialize");
  marker.leave();
  marker.enter(vm, INSTANTIATION, 0);
  assert.equal(reader.current()!.call, "instantiation (the module's start function)");
});

test("the watchdog: a miss past 200 ms, a megamiss past 1 s, once per call, and the return of a megamissed call", () => {
  const { marker, reader } = markerAndReader();
  const vm = marker.addVm({ plugin: "p", role: "worker 0", thread: 2 });
  let now = 0;
  const reports: string[] = [];
  const watchdog = new Watchdog(
    reader,
    {
      miss: (call) => reports.push(`miss ${call.call}`),
      megamiss: (call, ms) => reports.push(`megamiss ${call.call} ${ms}`),
      returned: (call, ms) => reports.push(`returned ${call.call} ${ms}`),
    },
    () => now,
  );
  marker.enter(vm, 1, 2);
  for (now = 0; now <= 1400; now += 100) watchdog.check();
  assert.deepEqual(reports, ["miss proxy_on_new_connection", "megamiss proxy_on_new_connection 1100"]);
  assert.equal(watchdog.underWay()!.runningMs, 1500);
  marker.leave();
  watchdog.check();
  assert.deepEqual(reports.at(-1), "returned proxy_on_new_connection 1500");
  assert.equal(watchdog.underWay(), null);

  // a thread busy with many short calls is not stuck; nor is one that misses only
  reports.length = 0;
  for (; now <= 4000; now += 100) {
    marker.enter(vm, 1, 3);
    watchdog.check();
    marker.leave();
  }
  marker.enter(vm, 1, 4);
  for (const end = now + 500; now <= end; now += 100) watchdog.check();
  marker.leave();
  watchdog.check();
  assert.deepEqual(reports, ["miss proxy_on_new_connection"]);
});

test("a call is described by what it calls, its context, plugin and VM", () => {
  const vm = { plugin: "guard", role: "canary", thread: 1 };
  assert.equal(describeCall({ number: 1, vm, call: "proxy_on_configure", context: 1 }), "proxy_on_configure (context 1) of wasm plugin 'guard' on the canary VM");
  assert.equal(describeCall({ number: 1, vm: { ...vm, role: "base" }, call: "_start", context: 0 }), "_start of wasm plugin 'guard' on the base VM");
});

test("Envoy's watchdog stats: the pool's and the thread's, main thread and workers, at 0 from the start", () => {
  const stats = createStatsStore();
  const watchdogStats = new WatchdogStats(stats, 2);
  watchdogStats.count("miss", 3);
  watchdogStats.count("megamiss", 3);
  watchdogStats.count("miss", 1);
  assert.equal(
    stats.renderText(),
    [
      "main_thread.watchdog_mega_miss: 0",
      "main_thread.watchdog_miss: 1",
      "server.main_thread.watchdog_mega_miss: 0",
      "server.main_thread.watchdog_miss: 1",
      "server.worker_0.watchdog_mega_miss: 0",
      "server.worker_0.watchdog_miss: 0",
      "server.worker_1.watchdog_mega_miss: 1",
      "server.worker_1.watchdog_miss: 1",
      "workers.watchdog_mega_miss: 1",
      "workers.watchdog_miss: 1",
      "",
    ].join("\n"),
  );
});

test("a VM marks each call: the entry points on the base VM, the root's on the canary, a connection's on its worker", () => {
  const buffer = new SharedArrayBuffer(CALL_MARKER_BYTES);
  const reader = new CallReader(buffer);
  const marker = new CallMarker(buffer, MARKED_CALL_NAMES, (news) => reader.hear(news));
  // each log line is written inside the call that logged it: what the reader sees then
  const seenWhileLogging: Array<string | null> = [];
  const wat = pluginModule(`
    (data (i32.const 1024) "x")
    (func $log_x (drop (call $log (i32.const 2) (i32.const 1024) (i32.const 1))))
    (func (export "_initialize") (call $log_x))
    (func (export "proxy_on_configure") (param i32 i32) (result i32) (call $log_x) (i32.const 1))
    (func (export "proxy_on_new_connection") (param i32) (result i32) (call $log_x) (i32.const 0))`);
  const plugin = startWasmPlugin({
    plugin: pluginConfig({ name: "marked" }),
    wasmPath: writeWat(wat),
    concurrency: 1,
    logger: createLogger({
      level: "info",
      componentLevels: {},
      write: () => {
        const call = reader.current();
        seenWhileLogging.push(call && `${describeCall(call)} [${call.vm!.thread}]`);
      },
    }),
    stats: createStatsStore(),
    propertyNames: "current",
    callMarker: marker,
  });
  new TestConnection(plugin).newConnection();
  assert.deepEqual(seenWhileLogging, [
    "_initialize of wasm plugin 'marked' on the base VM [1]",
    "_initialize of wasm plugin 'marked' on the canary VM [1]",
    "proxy_on_configure (context 1) of wasm plugin 'marked' on the canary VM [1]",
    "_initialize of wasm plugin 'marked' on the main VM [1]",
    "proxy_on_configure (context 1) of wasm plugin 'marked' on the main VM [1]",
    "_initialize of wasm plugin 'marked' on the worker 0 VM [2]",
    "proxy_on_configure (context 1) of wasm plugin 'marked' on the worker 0 VM [2]",
    "proxy_on_new_connection (context 2) of wasm plugin 'marked' on the worker 0 VM [2]",
  ]);
  assert.equal(reader.current(), null);
  plugin.close();
});
