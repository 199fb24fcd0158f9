// docs/envoy-host.md §20: shared data kept per vm_id for the whole process (cpp-host
// src/shared_data.cc), and each VM's root context ticking on its own timer (Envoy
// source/extensions/common/wasm/wasm.cc `Wasm::setTimerPeriod`, `Wasm::tickHandler`).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { test } from "node:test";
import { SharedData } from "../../host/testing/index.ts";
import { startTestHost, wasmMessages } from "../helpers/e2e.ts";
import { pluginModule, writeWat } from "../helpers/wat.ts";
import { enter, host, hostCalls, on, startTestPlugin, tracedOnThreads } from "../helpers/wat-filters.ts";

const SHARED_IMPORTS = `
  (import "env" "proxy_get_shared_data" (func $get_shared_data (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $set_shared_data (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_tick_period_milliseconds" (func $set_tick_period (param i32) (result i32)))`;

/** key "k" at 1024; values "hello" at 1040 and "other" at 1056 */
const DATA = `(data (i32.const 1024) "k") (data (i32.const 1040) "hello") (data (i32.const 1056) "other")`;
const GET = `(drop (call $get_shared_data (i32.const 1024) (i32.const 1) (i32.const 300) (i32.const 304) (i32.const 308)))`;
const setTo = (value: "hello" | "other", cas: number) =>
  `(drop (call $set_shared_data (i32.const 1024) (i32.const 1) (i32.const ${value === "hello" ? 1040 : 1056}) (i32.const 5) (i32.const ${cas})))`;

/** A module whose proxy_on_new_connection runs `body`, then continues. */
function onConnection(body: string): string {
  return pluginModule(`${DATA} (func (export "proxy_on_new_connection") (param i32) (result i32) ${body} (i32.const 0))`, {
    imports: SHARED_IMPORTS,
  });
}

const getCall = (result: "Ok" | "NotFound", value?: string, cas?: number) =>
  host("proxy_get_shared_data", [1024, 1, 300, 304, 308], result, value === undefined ? { key: "k" } : { key: "k", value: `"${value}"`, cas: cas! });
const setCall = (value: "hello" | "other", cas: number, result: "Ok" | "CasMismatch") =>
  host("proxy_set_shared_data", [1024, 1, value === "hello" ? 1040 : 1056, 5, cas], result, { key: "k", value: `"${value}"` });

test("cas rules of cpp-host SharedData::get/set: a new key ignores cas, 0 skips the check, one counter for every vm_id", () => {
  const shared = new SharedData();
  const module = onConnection([GET, setTo("hello", 7), GET, setTo("other", 2), setTo("other", 1), GET, setTo("hello", 0), GET].join("\n"));
  const first = startTestPlugin(module, { plugin: { vmId: "a" }, sharedData: shared });
  first.trace.length = 0;
  first.plugin.connect();
  assert.deepEqual(hostCalls(first.trace), [
    getCall("NotFound"),
    setCall("hello", 7, "Ok"),
    getCall("Ok", "hello", 1),
    setCall("other", 2, "CasMismatch"),
    setCall("other", 1, "Ok"),
    getCall("Ok", "other", 2),
    setCall("hello", 0, "Ok"),
    getCall("Ok", "hello", 3),
  ]);
  // Another vm_id has its own keys, but the cas numbers go on from the same counter.
  const second = startTestPlugin(module, { plugin: { vmId: "b" }, sharedData: shared });
  second.trace.length = 0;
  second.plugin.connect();
  assert.deepEqual(hostCalls(second.trace).slice(0, 3), [getCall("NotFound"), setCall("hello", 7, "Ok"), getCall("Ok", "hello", 4)]);
  first.plugin.close();
  second.plugin.close();
});

test("one vm_id, one area: workers and plugins given the store share it, another vm_id or store does not; the last plugin closed drops it", () => {
  const shared = new SharedData();
  const module = onConnection(`${GET} ${setTo("hello", 0)}`);
  const writer = startTestPlugin(module, { plugin: { vmId: "v" }, concurrency: 2, sharedData: shared });
  const reader = startTestPlugin(module, { plugin: { vmId: "v" }, sharedData: shared });
  const stranger = startTestPlugin(module, { plugin: { vmId: "w" }, sharedData: shared });
  for (const { trace } of [writer, reader, stranger]) trace.length = 0;
  writer.plugin.connect(); // worker 0
  writer.plugin.connect(); // worker 1
  reader.plugin.connect();
  stranger.plugin.connect();
  assert.deepEqual(
    tracedOnThreads(writer.trace).filter((event) => event.name === "proxy_get_shared_data"),
    [on(2, getCall("NotFound")), on(3, getCall("Ok", "hello", 1))],
  );
  assert.deepEqual(hostCalls(reader.trace)[0], getCall("Ok", "hello", 2));
  assert.deepEqual(hostCalls(stranger.trace)[0], getCall("NotFound"));
  // The reader still holds vm_id "v": the entry stays after the writer is closed.
  writer.plugin.close();
  reader.trace.length = 0;
  reader.plugin.connect();
  assert.deepEqual(hostCalls(reader.trace)[0], getCall("Ok", "hello", 3));
  reader.plugin.close();
  const later = startTestPlugin(module, { plugin: { vmId: "v" }, sharedData: shared });
  later.trace.length = 0;
  later.plugin.connect();
  assert.deepEqual(hostCalls(later.trace)[0], getCall("NotFound"));
  later.plugin.close();
  stranger.plugin.close();
  // A filter started without this store has a store of its own (the testing API's default).
  const apart = startTestPlugin(module, { plugin: { vmId: "v" } });
  apart.trace.length = 0;
  apart.plugin.connect();
  assert.deepEqual(hostCalls(apart.trace)[0], getCall("NotFound"));
  apart.plugin.close();
});

test("plugins without a vm_id share the area of the empty vm_id", () => {
  const shared = new SharedData();
  const module = onConnection(`${GET} ${setTo("hello", 0)}`);
  const one = startTestPlugin(module, { sharedData: shared });
  const two = startTestPlugin(module, { plugin: { name: "other", rootId: "other" }, sharedData: shared });
  one.plugin.connect();
  two.trace.length = 0;
  two.plugin.connect();
  assert.deepEqual(hostCalls(two.trace)[0], getCall("Ok", "hello", 1));
  one.plugin.close();
  two.plugin.close();
});

/** Every root context asks for a tick an hour, which no test waits for; proxy_on_tick logs. */
const TICKS = pluginModule(
  `(func (export "proxy_on_configure") (param i32 i32) (result i32)
     (drop (call $set_tick_period (i32.const 3600000)))
     (i32.const 1))
   (func (export "proxy_on_tick") (param i32)
     (drop (call $log (i32.const 0) (i32.const 0) (local.get 0))))`,
  { imports: SHARED_IMPORTS },
);

test("concurrency 2: the main thread's and each worker's root context tick, each on its own timer", () => {
  const { plugin, trace } = startTestPlugin(TICKS, { concurrency: 2 });
  trace.length = 0;
  assert.equal(plugin.tick(), 3);
  const tick = enter("proxy_on_tick", [1]);
  assert.deepEqual(
    tracedOnThreads(trace).filter((event) => event.kind === "enter"),
    [on(1, tick), on(2, tick), on(3, tick)],
  );
  plugin.close();
  trace.length = 0;
  assert.equal(plugin.tick(), 0);
  assert.deepEqual(tracedOnThreads(trace).filter((event) => event.name === "proxy_on_tick"), []);
});

test("a root context without a tick period, or one set back to 0, gets no proxy_on_tick", () => {
  const stopsTicking = pluginModule(
    `(func (export "proxy_on_configure") (param i32 i32) (result i32)
       (drop (call $set_tick_period (i32.const 3600000)))
       (i32.const 1))
     (func (export "proxy_on_tick") (param i32)
       (drop (call $set_tick_period (i32.const 0))))`,
    { imports: SHARED_IMPORTS },
  );
  const { plugin } = startTestPlugin(stopsTicking, { concurrency: 2 });
  assert.equal(plugin.tick(), 3);
  assert.equal(plugin.tick(), 0);
  plugin.close();
  const never = startTestPlugin(pluginModule(`(func (export "proxy_on_tick") (param i32))`));
  assert.equal(never.plugin.tick(), 0);
  never.plugin.close();
});

/**
 * The first VM to be configured (the canary: the base VM is never configured) finds no "n" in
 * the shared data and sets it; every VM asks for a tick each millisecond and logs "canary" or
 * "tick" in it.
 */
const FIRST_CONFIGURED_LOGS_CANARY = pluginModule(
  `(data (i32.const 1024) "n") (data (i32.const 1040) "canary") (data (i32.const 1056) "tick")
   (global $first (mut i32) (i32.const 0))
   (func (export "proxy_on_configure") (param i32 i32) (result i32)
     (if (i32.eq (call $get_shared_data (i32.const 1024) (i32.const 1) (i32.const 300) (i32.const 304) (i32.const 308)) (i32.const 1))
       (then
         (global.set $first (i32.const 1))
         (drop (call $set_shared_data (i32.const 1024) (i32.const 1) (i32.const 1040) (i32.const 6) (i32.const 0)))))
     (drop (call $set_tick_period (i32.const 1)))
     (i32.const 1))
   (func (export "proxy_on_tick") (param i32)
     (if (global.get $first)
       (then (drop (call $log (i32.const 2) (i32.const 1040) (i32.const 6))))
       (else (drop (call $log (i32.const 2) (i32.const 1056) (i32.const 4))))))`,
  { imports: SHARED_IMPORTS },
);

test("the canary VM never ticks: it is discarded after its configure, and its timers with it", async () => {
  // cpp-host WasmHandleBase::canary (src/wasm.cc) kill()s the canary's handle after configure; its
  // Wasm goes, and Envoy's timers (Wasm::timer_, wasm.h) with it; the timer callback holds the
  // Wasm by a weak_ptr (Wasm::setTimerPeriod, wasm.cc:106). The canary's timer was set first, with
  // the same period: had it run, it would have fired before the others.
  const { plugin } = startTestPlugin(FIRST_CONFIGURED_LOGS_CANARY, { concurrency: 2 });
  while (plugin.messages().filter((message) => message === "info tick").length < 3) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.deepEqual(plugin.messages().filter((message) => message === "info canary"), []);
  plugin.close();
});

// ---------------------------------------------------------------- the local host: one store for the process

/** Each root context logs whether "k" was there in proxy_on_configure, then sets it. */
const CONFIGURE_READS_THEN_WRITES = pluginModule(
  `${DATA} (data (i32.const 1072) "found") (data (i32.const 1088) "missing")
   (func (export "proxy_on_configure") (param i32 i32) (result i32)
     (if (i32.eqz (call $get_shared_data (i32.const 1024) (i32.const 1) (i32.const 300) (i32.const 304) (i32.const 308)))
       (then (drop (call $log (i32.const 2) (i32.const 1072) (i32.const 5))))
       (else (drop (call $log (i32.const 2) (i32.const 1088) (i32.const 7)))))
     ${setTo("hello", 0)}
     (i32.const 1))`,
  { imports: SHARED_IMPORTS },
);

/** Listeners a, b and c, each with the module as a wasm filter: a and b with vm_id "v", c with "w". */
function threeListeners(wasmFile: string): string {
  // distinct ports in the config (a duplicate is refused); the test binds each to a free one
  const listener = (name: string, vmId: string, port: number) => `
    - name: ${name}
      address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.wasm
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm
                config:
                  name: ${name}
                  root_id: ${name}
                  vm_config:
                    vm_id: ${vmId}
                    runtime: envoy.wasm.runtime.v8
                    code: { local: { filename: /etc/envoy/plugin/${wasmFile} } }
            - name: envoy.filters.network.tcp_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: ${name}
                cluster: nowhere`;
  return `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:${listener("a", "v", 10001)}${listener("b", "v", 10002)}${listener("c", "w", 10003)}
  clusters:
    - name: nowhere
      type: STATIC
      connect_timeout: 0.25s
      load_assignment:
        cluster_name: nowhere
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9 } } }
`;
}

test("the local host keeps one store: plugins of two listeners with vm_id v share it, vm_id w has its own", async () => {
  const wasm = writeWat(CONFIGURE_READS_THEN_WRITES);
  const configPath = join(dirname(wasm), "shared-data-three-listeners.yaml");
  writeFileSync(configPath, threeListeners(basename(wasm)));
  const { host: running, logs } = await startTestHost({ configPath, pluginFolder: dirname(wasm), listenerPorts: { a: 0, b: 0, c: 0 } });
  await running.close();
  // canary, main thread and worker of each plugin, in listener order
  assert.deepEqual(wasmMessages(logs), [
    "wasm log a v: missing",
    "wasm log a v: found",
    "wasm log a v: found",
    "wasm log b v: found",
    "wasm log b v: found",
    "wasm log b v: found",
    "wasm log c w: missing",
    "wasm log c w: found",
    "wasm log c w: found",
  ]);
});

// ---------------------------------------------------------------- shared queues (cpp-host src/shared_queue.cc)

const QUEUE_IMPORTS = `
  (import "env" "proxy_register_shared_queue" (func $register_queue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_resolve_shared_queue" (func $resolve_queue (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_enqueue_shared_queue" (func $enqueue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_dequeue_shared_queue" (func $dequeue (param i32 i32 i32) (result i32)))`;
/** queue name "q" at 1120, vm_id "v" at 1136 */
const QUEUE_DATA = `${DATA} (data (i32.const 1120) "q") (data (i32.const 1136) "v")`;
const DEQUEUE_TWICE = `
  (func (export "proxy_on_queue_ready") (param i32 i32)
    (drop (call $dequeue (local.get 1) (i32.const 500) (i32.const 504)))
    (drop (call $dequeue (local.get 1) (i32.const 500) (i32.const 504))))`;

/** Registers "q" in proxy_on_configure; each connection resolves it and enqueues "hello"; a notice dequeues twice. */
const QUEUE_OWNER = pluginModule(
  `${QUEUE_DATA}
   (func (export "proxy_on_configure") (param i32 i32) (result i32)
     (drop (call $register_queue (i32.const 1120) (i32.const 1) (i32.const 400)))
     (i32.const 1))
   (func (export "proxy_on_new_connection") (param i32) (result i32)
     (drop (call $resolve_queue (i32.const 0) (i32.const 0) (i32.const 1120) (i32.const 1) (i32.const 404)))
     (drop (call $enqueue (i32.load (i32.const 404)) (i32.const 1040) (i32.const 5)))
     (i32.const 0))
   ${DEQUEUE_TWICE}`,
  { imports: QUEUE_IMPORTS },
);

/** A VM of another vm_id: finds "q" of vm_id "v" by name, tries tokens that do not exist, enqueues "other". */
const QUEUE_GUEST = pluginModule(
  `${QUEUE_DATA}
   (func (export "proxy_on_new_connection") (param i32) (result i32)
     (drop (call $resolve_queue (i32.const 1136) (i32.const 1) (i32.const 1120) (i32.const 1) (i32.const 404)))
     (drop (call $resolve_queue (i32.const 0) (i32.const 0) (i32.const 1120) (i32.const 1) (i32.const 408)))
     (drop (call $enqueue (i32.const 77) (i32.const 1040) (i32.const 5)))
     (drop (call $dequeue (i32.const 77) (i32.const 500) (i32.const 504)))
     (drop (call $enqueue (i32.load (i32.const 404)) (i32.const 1056) (i32.const 5)))
     (i32.const 0))`,
  { imports: QUEUE_IMPORTS },
);

/** Let the turn end: Envoy posts proxy_on_queue_ready to the registering VM's dispatcher; the host uses setImmediate. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const register = (token: number) => host("proxy_register_shared_queue", [1120, 1, 400], "Ok", { name: "q", token });
const queueReady = (token: number) => enter("proxy_on_queue_ready", [1, token], { token });
const dequeued = (token: number, value: string) => host("proxy_dequeue_shared_queue", [token, 500, 504], "Ok", { token, value: `"${value}"` });
const empty = (token: number) => host("proxy_dequeue_shared_queue", [token, 500, 504], "Empty", { token });

test("a queue has one token per (vm_id, name); an enqueue is heard later, on the root context of the VM that registered last", async () => {
  const { plugin, trace } = startTestPlugin(QUEUE_OWNER, { plugin: { vmId: "v" }, concurrency: 2 });
  // canary, main thread, worker 0, worker 1: each registers "q" and gets the same token
  assert.deepEqual(
    tracedOnThreads(trace).filter((event) => event.name === "proxy_register_shared_queue"),
    [on(1, register(1)), on(1, register(1)), on(2, register(1)), on(3, register(1))],
  );
  trace.length = 0;
  plugin.connect(); // worker 0
  assert.deepEqual(hostCalls(trace), [
    host("proxy_resolve_shared_queue", [0, 0, 1120, 1, 404], "Ok", { vmId: "", name: "q", token: 1 }),
    host("proxy_enqueue_shared_queue", [1, 1040, 5], "Ok", { token: 1, value: '"hello"' }),
  ]);
  assert.equal(trace.filter((event) => event.name === "proxy_on_queue_ready").length, 0);
  await nextTurn();
  assert.deepEqual(
    tracedOnThreads(trace).filter((event) => event.kind !== "leave" && event.name !== "proxy_on_new_connection").slice(2),
    [on(3, queueReady(1)), on(3, dequeued(1, "hello")), on(3, empty(1))],
  );
  plugin.close();
});

test("another vm_id resolves a queue by its vm_id; unknown names and tokens are NotFound; a closed vm_id's queues are gone", async () => {
  const shared = new SharedData();
  const owner = startTestPlugin(QUEUE_OWNER, { plugin: { vmId: "v" }, sharedData: shared });
  const guest = startTestPlugin(QUEUE_GUEST, { plugin: { vmId: "w" }, sharedData: shared });
  owner.trace.length = 0;
  guest.trace.length = 0;
  guest.plugin.connect();
  assert.deepEqual(hostCalls(guest.trace), [
    host("proxy_resolve_shared_queue", [1136, 1, 1120, 1, 404], "Ok", { vmId: "v", name: "q", token: 1 }),
    host("proxy_resolve_shared_queue", [0, 0, 1120, 1, 408], "NotFound", { vmId: "", name: "q" }),
    host("proxy_enqueue_shared_queue", [77, 1040, 5], "NotFound", { token: 77, value: '"hello"' }),
    host("proxy_dequeue_shared_queue", [77, 500, 504], "NotFound", { token: 77 }),
    host("proxy_enqueue_shared_queue", [1, 1056, 5], "Ok", { token: 1, value: '"other"' }),
  ]);
  await nextTurn();
  assert.deepEqual(tracedOnThreads(owner.trace).filter((event) => event.kind !== "leave"), [
    on(2, queueReady(1)),
    on(2, dequeued(1, "other")),
    on(2, empty(1)),
  ]);
  // The owner was vm_id v's last plugin: its queue went with it, and the next token is new.
  owner.plugin.close();
  guest.trace.length = 0;
  guest.plugin.connect();
  assert.deepEqual(hostCalls(guest.trace)[0], host("proxy_resolve_shared_queue", [1136, 1, 1120, 1, 404], "NotFound", { vmId: "v", name: "q" }));
  const next = startTestPlugin(QUEUE_OWNER, { plugin: { vmId: "v" }, sharedData: shared });
  assert.deepEqual(hostCalls(next.trace).find((event) => event.name === "proxy_register_shared_queue"), register(2));
  next.plugin.close();
  guest.plugin.close();
});
