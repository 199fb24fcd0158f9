// The release plugin loads in the host as Envoy would load it.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { startTestPlugin } from "../helpers/wat-filters.ts";

const MAIN_WASM = "build/main.wasm";

test("build/main.wasm loads, links and configures", { skip: existsSync(MAIN_WASM) ? false : `${MAIN_WASM} not built (make build)` }, () => {
  const { plugin } = startTestPlugin(null, { wasmPath: MAIN_WASM, concurrency: 2 });
  assert.deepEqual(
    plugin.diagnostics().map((vm) => [vm.role, vm.failed]),
    [["main", false], ["worker 0", false], ["worker 1", false]],
  );
  plugin.close();
});
