// docs/envoy-host.md §1: what Envoy refuses when it loads and links a module; the allocator, the
// entry points and what they may call, WASI output.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PluginStartError } from "../../host/wasm/api.ts";
import { pluginModule } from "../helpers/wat.ts";
import { TestConnection } from "../../host/testing/index.ts";
import { bytes, callbacks, enter, host, hostCalls, startTestPlugin, TIMESTAMP, traced, type TestPluginOptions, type Traced } from "../helpers/wat-filters.ts";

function startError(wat: string | null, options: TestPluginOptions = {}): string {
  try {
    startTestPlugin(wat, options).plugin.close();
  } catch (error) {
    assert.ok(error instanceof PluginStartError);
    return error.message;
  }
  return assert.fail("the plugin started");
}

test("a module without an ABI version marker is refused", () => {
  assert.equal(
    startError(pluginModule("", { abi: null })),
    "Unable to create Wasm plugin tcp_connection_logger: Missing or unknown Proxy-Wasm ABI version",
  );
});

test("an unknown ABI version marker is refused", () => {
  assert.equal(
    startError(pluginModule("", { abi: "proxy_abi_version_0_3_0" })),
    "Unable to create Wasm plugin tcp_connection_logger: Missing or unknown Proxy-Wasm ABI version",
  );
});

test("an import the host does not register is refused, env.abort included", () => {
  const withAbort = pluginModule("", { imports: `(import "env" "abort" (func (param i32 i32 i32 i32)))` });
  assert.equal(
    startError(withAbort),
    "Unable to create Wasm plugin tcp_connection_logger: Failed to load Wasm module due to a missing import: env.abort",
  );
});

test("proxy_get_log_level exists only from ABI 0.2.1", () => {
  const imports = `(import "env" "proxy_get_log_level" (func (param i32) (result i32)))`;
  assert.match(startError(pluginModule("", { imports })), /missing import: env.proxy_get_log_level$/);
  const { plugin } = startTestPlugin(pluginModule("", { imports, abi: "proxy_abi_version_0_2_1" }));
  plugin.close();
});

/** An ABI 0.1.0 module: pluginModule's imports include proxy_continue_stream, which 0.1.0 lacks. */
function abi010Module(imports = ""): string {
  return `(module
    ${imports}
    (memory (export "memory") 1)
    (func (export "malloc") (param i32) (result i32) (i32.const 4096))
    (func (export "proxy_abi_version_0_1_0")))`;
}

test("each ABI version marker loads; a marker that is not a function is refused", () => {
  for (const abi of ["proxy_abi_version_0_2_0", "proxy_abi_version_0_2_1"]) startTestPlugin(pluginModule("", { abi })).plugin.close();
  startTestPlugin(abi010Module()).plugin.close();
  const notAFunction = pluginModule(`(global (export "proxy_abi_version_0_2_0") i32 (i32.const 0))`, { abi: null });
  assert.equal(
    startError(notAFunction),
    "Unable to create Wasm plugin tcp_connection_logger: Missing or unknown Proxy-Wasm ABI version",
  );
});

test("a callback whose signature is not the ABI's is refused at load, naming the export, as cpp-host does", () => {
  const refused = (exportWat: string, options = {}) => startError(pluginModule(exportWat, options));
  assert.equal(
    refused(`(func (export "proxy_on_new_connection") (param i32 i32) (result i32) (i32.const 0))`),
    "Unable to create Wasm plugin tcp_connection_logger: Bad function signature for: proxy_on_new_connection, want: i32 -> i32, but the module exports: i32 i32 -> i32",
  );
  assert.equal(
    refused(`(func (export "proxy_on_vm_start") (param i32 i32))`),
    "Unable to create Wasm plugin tcp_connection_logger: Bad function signature for: proxy_on_vm_start, want: i32 i32 -> i32, but the module exports: i32 i32 -> void",
  );
  assert.equal(
    refused(`(func (export "proxy_on_log") (param i64))`),
    "Unable to create Wasm plugin tcp_connection_logger: Bad function signature for: proxy_on_log, want: i32 -> void, but the module exports: i64 -> void",
  );
  assert.equal(
    refused(`(func (export "_start") (param i32))`),
    "Unable to create Wasm plugin tcp_connection_logger: Bad function signature for: _start, want: void -> void, but the module exports: i32 -> void",
  );
  // Envoy looks for a reactor's main, or for a command's _start, not for both
  startTestPlugin(pluginModule(`(func (export "_initialize")) (func (export "_start") (param i32))`)).plugin.close();
  startTestPlugin(pluginModule(`(func (export "main"))`)).plugin.close();
  assert.equal(
    refused(`(func (export "proxy_on_http_call_response") (param i32 i32 i32 i32))`),
    "Unable to create Wasm plugin tcp_connection_logger: Bad function signature for: proxy_on_http_call_response, want: i32 i32 i32 i32 i32 -> void, but the module exports: i32 i32 i32 i32 -> void",
  );
  // the first export Envoy looks for is named: the allocator before the callbacks
  assert.equal(
    refused(`(func (export "proxy_on_memory_allocate") (param i32 i32) (result i32) (i32.const 0))
      (func (export "proxy_on_done") (result i32) (i32.const 0))`, { allocator: null }),
    "Unable to create Wasm plugin tcp_connection_logger: Bad function signature for: proxy_on_memory_allocate, want: i32 -> i32, but the module exports: i32 i32 -> i32",
  );
});

test("the header callbacks' signature depends on the ABI version; proxy_on_foreign_function is looked for from 0.2.0", () => {
  const headers = (params: string) => `(func (export "proxy_on_request_headers") (param ${params}) (result i32) (i32.const 0))`;
  startTestPlugin(pluginModule(headers("i32 i32 i32"))).plugin.close();
  startTestPlugin(abi010Module(), {}).plugin.close();
  const abi010 = (exportWat: string) => abi010Module().replace("(func (export \"proxy_abi_version_0_1_0\"))", `(func (export "proxy_abi_version_0_1_0")) ${exportWat}`);
  startTestPlugin(abi010(headers("i32 i32"))).plugin.close();
  assert.equal(
    startError(abi010(headers("i32 i32 i32"))),
    "Unable to create Wasm plugin tcp_connection_logger: Bad function signature for: proxy_on_request_headers, want: i32 i32 -> i32, but the module exports: i32 i32 i32 -> i32",
  );
  const foreign = `(func (export "proxy_on_foreign_function") (param i32))`;
  startTestPlugin(abi010(foreign)).plugin.close();
  assert.match(startError(pluginModule(foreign)), /Bad function signature for: proxy_on_foreign_function, want: i32 i32 i32 -> void,/);
});

/** The `env` functions docs/envoy-host.md §1 lists for every ABI version. */
const ENV_FUNCTIONS = [
  "proxy_log", "proxy_get_status", "proxy_set_property", "proxy_get_property", "proxy_send_local_response",
  "proxy_get_shared_data", "proxy_set_shared_data", "proxy_register_shared_queue", "proxy_resolve_shared_queue",
  "proxy_dequeue_shared_queue", "proxy_enqueue_shared_queue", "proxy_get_header_map_value",
  "proxy_add_header_map_value", "proxy_replace_header_map_value", "proxy_remove_header_map_value",
  "proxy_get_header_map_pairs", "proxy_set_header_map_pairs", "proxy_get_header_map_size", "proxy_get_buffer_status",
  "proxy_get_buffer_bytes", "proxy_set_buffer_bytes", "proxy_http_call", "proxy_grpc_call", "proxy_grpc_stream",
  "proxy_grpc_close", "proxy_grpc_cancel", "proxy_grpc_send", "proxy_set_tick_period_milliseconds",
  "proxy_get_current_time_nanoseconds", "proxy_define_metric", "proxy_increment_metric", "proxy_record_metric",
  "proxy_get_metric", "proxy_set_effective_context", "proxy_done", "proxy_call_foreign_function",
];

test("every env function Envoy registers links; ABI 0.1.0 lacks proxy_continue_stream and proxy_close_stream", () => {
  const imports = [...ENV_FUNCTIONS, "proxy_continue_stream", "proxy_close_stream"]
    .map((name) => `(import "env" "${name}" (func $env_${name}))`)
    .join("\n");
  startTestPlugin(pluginModule("", { imports })).plugin.close();
  startTestPlugin(abi010Module(ENV_FUNCTIONS.map((name) => `(import "env" "${name}" (func))`).join("\n"))).plugin.close();
  for (const name of ["proxy_continue_stream", "proxy_close_stream"]) {
    assert.equal(
      startError(abi010Module(`(import "env" "${name}" (func))`)),
      `Unable to create Wasm plugin tcp_connection_logger: Failed to load Wasm module due to a missing import: env.${name}`,
    );
  }
});

test("every WASI function Envoy registers links under both WASI module names", () => {
  const names = [
    "fd_write", "fd_read", "fd_seek", "fd_close", "fd_fdstat_get", "fd_fdstat_set_flags", "environ_get",
    "environ_sizes_get", "args_get", "args_sizes_get", "clock_time_get", "random_get", "sched_yield", "poll_oneoff",
    "proc_exit", "path_open", "fd_prestat_get", "fd_prestat_dir_name",
  ];
  const imports = ["wasi_unstable", "wasi_snapshot_preview1"]
    .flatMap((module) => names.map((name, i) => `(import "${module}" "${name}" (func $${module}_${i}))`))
    .join("\n");
  const { plugin } = startTestPlugin(pluginModule("", { imports }));
  assert.equal(plugin.diagnostics().length, 2);
  plugin.close();
});

test("fd_write to fd 1 is logged at info, to fd 2 at error, in the context's wasm log line", () => {
  const wat = pluginModule(`
    (data (i32.const 1024) "to stdout")
    (data (i32.const 1040) "to stderr")
    (func $write (param $fd i32) (param $text i32)
      ;; one iovec at 200: pointer, length; the count written goes to 300
      (i32.store (i32.const 200) (local.get $text))
      (i32.store (i32.const 204) (i32.const 9))
      (drop (call $fd_write (local.get $fd) (i32.const 200) (i32.const 1) (i32.const 300))))
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (call $write (i32.const 1) (i32.const 1024))
      (call $write (i32.const 2) (i32.const 1040))
      (i32.const 0))`);
  const { plugin, lines, trace } = startTestPlugin(wat);
  new TestConnection(plugin).newConnection();
  assert.deepEqual(lines, [
    `${TIMESTAMP}[2][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log tcp_connection_logger tcp_connection_logger: to stdout`,
    `${TIMESTAMP}[2][error][wasm] [source/extensions/common/wasm/context.cc:1157] wasm log tcp_connection_logger tcp_connection_logger: to stderr`,
  ]);
  assert.deepEqual(hostCalls(trace).filter((call) => call.name === "fd_write"), [
    host("fd_write", [1, 200, 1, 300], "0", { stream: "stdout", bytes: 9 }),
    host("fd_write", [2, 200, 1, 300], "0", { stream: "stderr", bytes: 9 }),
  ]);
  plugin.close();
});

test("fd_write as cpp-host's writevImpl: the iovecs joined, one trailing newline dropped, no line for no bytes, EFAULT out of memory", () => {
  const wat = pluginModule(`
    (data (i32.const 1024) "line\\n")
    (func $write (param $ptr i32) (param $length i32) (result i32)
      ;; two iovecs at 200: an empty one (its pointer never read), then the text
      (i32.store (i32.const 200) (i32.const 99999))
      (i32.store (i32.const 204) (i32.const 0))
      (i32.store (i32.const 208) (local.get $ptr))
      (i32.store (i32.const 212) (local.get $length))
      (call $fd_write (i32.const 1) (i32.const 200) (i32.const 2) (i32.const 300)))
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (drop (call $write (i32.const 1024) (i32.const 5)))
      (drop (call $write (i32.const 1024) (i32.const 0)))
      (drop (call $write (i32.const 1028) (i32.const 1)))
      (drop (call $write (i32.const 99999) (i32.const 4)))
      (i32.store (i32.const 200) (i32.const 1024))
      (i32.store (i32.const 204) (i32.const 5))
      (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 99999)))
      (i32.const 0))`);
  const { plugin, lines, trace } = startTestPlugin(wat);
  new TestConnection(plugin).newConnection();
  const prefix = `${TIMESTAMP}[2][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log tcp_connection_logger tcp_connection_logger: `;
  // "line\n", nothing, "\n" alone (an empty message), out of memory; then the count's pointer out of memory: logged, then EFAULT
  assert.deepEqual(lines, [`${prefix}line`, prefix, `${prefix}line`]);
  assert.deepEqual(
    hostCalls(trace).filter((call) => call.name === "fd_write").map((call) => call.result),
    ["0", "0", "0", "21", "21"],
  );
  plugin.close();
});

test("clock_time_get of a CPU-time clock is ENOTSUP; random_get of more than 64 KiB EINVAL, of nothing a success", () => {
  const wat = pluginModule(`
    (func (export "proxy_on_new_connection") (param i32) (result i32)
      (drop (call $clock_time_get (i32.const 2) (i64.const 0) (i32.const 200)))
      (drop (call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 99999)))
      (drop (call $random_get (i32.const 0) (i32.const 65537)))
      (drop (call $random_get (i32.const 99999) (i32.const 0)))
      (drop (call $random_get (i32.const 99999) (i32.const 4)))
      (i32.const 0))`, {
    imports: `(import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))`,
  });
  const { plugin, trace } = startTestPlugin(wat);
  new TestConnection(plugin).newConnection();
  assert.deepEqual(
    hostCalls(trace).filter((call) => call.name === "clock_time_get" || call.name === "random_get").map((call) => `${call.name} ${call.result}`),
    ["clock_time_get 58", "clock_time_get 21", "random_get 28", "random_get 0", "random_get 21"],
  );
  plugin.close();
});

test("the host allocates with malloc when exported, else with proxy_on_memory_allocate", () => {
  const readsData = `
    (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32)
      (drop (call $get_buffer_bytes (i32.const 2) (i32.const 0) (i32.const -1) (i32.const 100) (i32.const 104)))
      ;; the block's pointer, shown in the trace as a word of proxy_log
      (drop (call $log (i32.const 0) (i32.load (i32.const 100)) (i32.const 0)))
      (i32.const 0))`;
  const blockOf = (wat: string): Traced[] => {
    const { plugin, trace } = startTestPlugin(wat);
    new TestConnection(plugin).downstream(bytes("hello"), false);
    plugin.close();
    return hostCalls(trace).filter((call) => call.name === "proxy_log" && call.args[0] === 0);
  };
  // pluginModule's allocator answers from 4096; this proxy_on_memory_allocate answers 8192
  const otherAllocator = `(func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 8192))`;
  assert.deepEqual(blockOf(pluginModule(readsData + otherAllocator)), [
    host("proxy_log", [0, 4096, 0], "Ok", { level: "trace", printed: false }),
  ]);
  assert.deepEqual(blockOf(pluginModule(readsData + otherAllocator, { allocator: null })), [
    host("proxy_log", [0, 8192, 0], "Ok", { level: "trace", printed: false }),
  ]);
});

test("_initialize then main, or else _start, runs once per VM before its root context, and in the base VM, which has none", () => {
  const entries = (exports: string[]): Traced[] => {
    // main(argc, argv) -> i32, as Envoy wants it; the others take and return nothing
    const body = exports
      .map((name) => (name === "main" ? `(func (export "main") (param i32 i32) (result i32) (i32.const 0))` : `(func (export "${name}"))`))
      .join("\n");
    const { plugin, trace } = startTestPlugin(pluginModule(body + `(func (export "proxy_on_context_create") (param i32 i32))`));
    plugin.close();
    return callbacks(trace);
  };
  const root = enter("proxy_on_context_create", [1, 0], { kind: "root", id: 1 });
  // the base VM, then the canary, the main thread's VM, one worker
  assert.deepEqual(entries(["_initialize", "main", "_start"]), [
    ...[enter("_initialize", []), enter("main", [])],
    ...[enter("_initialize", []), enter("main", []), root],
    ...[enter("_initialize", []), enter("main", []), root],
    ...[enter("_initialize", []), enter("main", []), root],
  ]);
  assert.deepEqual(entries(["_start"]), [enter("_start", []), enter("_start", []), root, enter("_start", []), root, enter("_start", []), root]);
});

test("during _initialize only proxy_log and a few WASI calls are allowed; another host call fails the start", () => {
  const initializing = (calls: string) =>
    pluginModule(`
      (data (i32.const 1024) "initializing")
      (func (export "_initialize") ${calls})`);
  const logs = `
    (drop (call $log (i32.const 2) (i32.const 1024) (i32.const 12)))
    (i32.store (i32.const 200) (i32.const 1024))
    (i32.store (i32.const 204) (i32.const 12))
    (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 300)))`;
  const { plugin, lines } = startTestPlugin(initializing(logs));
  // proxy_log and fd_write, in each of the four VMs (base, canary, main thread, worker)
  assert.deepEqual(lines.map((line) => line.split(": ").at(-1)), Array(8).fill("initializing"));
  plugin.close();
  assert.equal(
    startError(initializing(`(drop (call $define_metric (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 200)))`)),
    "Unable to create Wasm plugin tcp_connection_logger: Wasm VM failed to start: Error: restricted_callback",
  );
});

test("inside malloc only proxy_log and a few WASI calls are allowed; another host call traps", () => {
  // on_configure reads the plugin configuration, so the host calls malloc
  const allocating = (calls: string) =>
    pluginModule(
      `(data (i32.const 1024) "m")
      (func (export "malloc") (param i32) (result i32) ${calls} (i32.const 4096))
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (drop (call $get_buffer_bytes (i32.const 7) (i32.const 0) (i32.const -1) (i32.const 100) (i32.const 104)))
        (i32.const 1))`,
      { allocator: null },
    );
  const options = { plugin: { configuration: "{}" } };
  const { plugin, trace } = startTestPlugin(allocating(`(drop (call $log (i32.const 0) (i32.const 1024) (i32.const 1)))`), options);
  assert.deepEqual(traced(trace).slice(1, 3), [
    host("proxy_get_buffer_bytes", [7, 0, -1, 100, 104], "Ok", { buffer: "PluginConfiguration", start: 0, bytes: 2 }),
    host("proxy_log", [0, 1024, 1], "Ok", { level: "trace", printed: false }),
  ]);
  plugin.close();
  assert.equal(
    startError(allocating(`(drop (call $define_metric (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 200)))`), options),
    "Unable to create Wasm plugin tcp_connection_logger: Wasm VM failed to start: Function: proxy_on_configure failed: Uncaught Error: restricted_callback",
  );
});

// The host functions this host registers that cpp-host allows during the entry points and inside
// malloc (docs/envoy-host.md §1), and some it refuses there.
const WASI = ["wasi_unstable", "wasi_snapshot_preview1"];
const ALLOWED_DURING_START = [
  "env.proxy_log",
  ...WASI.flatMap((module) =>
    [
      "fd_write", "args_sizes_get", "args_get", "environ_sizes_get", "environ_get", "clock_time_get", "random_get",
      "poll_oneoff", "fd_fdstat_get", "fd_fdstat_set_flags", "fd_prestat_dir_name", "fd_prestat_get",
    ].map((name) => `${module}.${name}`),
  ),
];
const REFUSED_DURING_START = [
  "env.proxy_get_property",
  "env.proxy_set_tick_period_milliseconds",
  ...WASI.flatMap((module) =>
    ["sched_yield", "proc_exit", "fd_read", "fd_seek", "fd_close", "path_open"].map((name) => `${module}.${name}`),
  ),
];
const ALLOWED_IN_MALLOC = [
  "env.proxy_log",
  ...WASI.flatMap((module) => ["fd_write", "clock_time_get", "poll_oneoff"].map((name) => `${module}.${name}`)),
];
const REFUSED_IN_MALLOC = [
  "env.proxy_get_property",
  ...WASI.flatMap((module) =>
    ["random_get", "args_get", "environ_get", "fd_fdstat_get", "fd_prestat_get", "sched_yield", "proc_exit"].map(
      (name) => `${module}.${name}`,
    ),
  ),
];

/** A module that calls `module.name` (without arguments) from _initialize, or from malloc. */
function callingFrom(where: "_initialize" | "malloc", qualifiedName: string): string {
  const [module, name] = qualifiedName.split(".");
  const imports = `(import "${module}" "${name}" (func $host))`;
  if (where === "_initialize") return pluginModule(`(func (export "_initialize") (call $host))`, { imports });
  return pluginModule(
    `(func (export "malloc") (param i32) (result i32) (call $host) (i32.const 4096))
    (func (export "proxy_on_configure") (param i32 i32) (result i32)
      (drop (call $get_buffer_bytes (i32.const 7) (i32.const 0) (i32.const -1) (i32.const 100) (i32.const 104)))
      (i32.const 1))`,
    { imports, allocator: null },
  );
}

test("the entry points may call only cpp-host's start-up list: sched_yield, proc_exit, fd_read, fd_seek, fd_close, path_open trap", () => {
  for (const name of ALLOWED_DURING_START) startTestPlugin(callingFrom("_initialize", name)).plugin.close();
  for (const name of REFUSED_DURING_START) {
    assert.equal(
      startError(callingFrom("_initialize", name)),
      "Unable to create Wasm plugin tcp_connection_logger: Wasm VM failed to start: Error: restricted_callback",
      name,
    );
  }
});

test("malloc may call only proxy_log, fd_write, clock_time_get and poll_oneoff", () => {
  const options = { plugin: { configuration: "{}" } };
  for (const name of ALLOWED_IN_MALLOC) startTestPlugin(callingFrom("malloc", name), options).plugin.close();
  for (const name of REFUSED_IN_MALLOC) {
    assert.equal(
      startError(callingFrom("malloc", name), options),
      "Unable to create Wasm plugin tcp_connection_logger: Wasm VM failed to start: Function: proxy_on_configure failed: Uncaught Error: restricted_callback",
      name,
    );
  }
});

test("a module without malloc or proxy_on_memory_allocate is refused", () => {
  assert.equal(
    startError(pluginModule("", { allocator: null })),
    "Unable to create Wasm plugin tcp_connection_logger: Wasm module is missing malloc function",
  );
  const { plugin } = startTestPlugin(pluginModule("", { allocator: "proxy_on_memory_allocate" }));
  plugin.close();
});

test("a file that is missing or not wasm is refused", () => {
  assert.equal(
    startError(null, { wasmPath: "/nonexistent/main.wasm" }),
    "Unable to create Wasm plugin tcp_connection_logger: Failed to load Wasm code from /nonexistent/main.wasm",
  );
});

test("a host call from the start section fails the start", () => {
  const wat = pluginModule(`
    (data (i32.const 1024) "hi")
    (func $top_level (drop (call $log (i32.const 2) (i32.const 1024) (i32.const 2))))
    (start $top_level)`);
  assert.equal(
    startError(wat),
    "Unable to create Wasm plugin tcp_connection_logger: Wasm VM failed to start: Error: restricted_callback",
  );
});
