// docs/envoy-host.md §1: what Envoy refuses when it loads and links a module.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PluginStartError } from "../../host/wasm/api.ts";
import { pluginModule } from "../helpers/wat.ts";
import { startTestPlugin } from "../helpers/wasm-host.ts";

function startError(wat: string | null, wasmPath?: string): string {
  try {
    startTestPlugin(wat, { wasmPath }).plugin.close();
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

test("every WASI function Envoy registers links under both WASI module names", () => {
  const imports = ["wasi_unstable", "wasi_snapshot_preview1"]
    .flatMap((module) =>
      ["fd_read", "fd_seek", "fd_close", "environ_get", "args_sizes_get", "clock_time_get", "random_get", "path_open"].map(
        (name, i) => `(import "${module}" "${name}" (func $${module}_${i}))`,
      ),
    )
    .join("\n");
  const { plugin } = startTestPlugin(pluginModule("", { imports }));
  assert.equal(plugin.diagnostics().length, 2);
  plugin.close();
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
    startError(null, "/nonexistent/main.wasm"),
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
