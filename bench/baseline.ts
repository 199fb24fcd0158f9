// Builds the baseline plugin (bench/assembly/) when its module is missing or older than its
// source, with the release target of the project's asconfig.json: the same compiler, runtime and
// flags as build/main.wasm, so that only what the callbacks do differs.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const SOURCE_FOLDER = "bench/assembly";
const ENTRY = "bench/assembly/index.ts";
const BASELINE_WASM = "bench/build/baseline.wasm";

/** The baseline module's path, compiled first if needed. Paths are relative to the project root. */
export function ensureBaseline(): string {
  if (isUpToDate()) return BASELINE_WASM;
  mkdirSync("bench/build", { recursive: true });
  // --target release reads ./asconfig.json; -b sends the output here instead of build/main.wasm.
  execFileSync("npx", ["asc", ENTRY, "--target", "release", "-b", BASELINE_WASM], { stdio: "inherit" });
  return BASELINE_WASM;
}

function isUpToDate(): boolean {
  if (!existsSync(BASELINE_WASM)) return false;
  const built = statSync(BASELINE_WASM).mtimeMs;
  const inputs = [...readdirSync(SOURCE_FOLDER).map((name) => join(SOURCE_FOLDER, name)), "asconfig.json"];
  return inputs.every((input) => statSync(input).mtimeMs <= built);
}
