// Builds the benchmarks' two baseline plugins (bench/assembly/) when a module is missing or older
// than its sources, with the release target of the project's asconfig.json: the same compiler,
// runtime and flags as build/main.wasm, so that only what the callbacks do differs.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const SOURCE_FOLDER = "bench/assembly";
const OUTPUT_FOLDER = "bench/build";

export interface BaselineModules {
  /** the same callbacks, each doing nothing and calling nothing */
  doNothing: string;
  /** the host calls a filter makes, told by its configuration, and nothing else */
  sameCalls: string;
}

/** The baselines' module paths, compiled first where needed. Paths are relative to the project root. */
export function ensureBaselines(): BaselineModules {
  return { doNothing: ensureModule("do-nothing"), sameCalls: ensureModule("same-calls") };
}

function ensureModule(name: string): string {
  const entry = join(SOURCE_FOLDER, `${name}.ts`);
  const output = join(OUTPUT_FOLDER, `${name}.wasm`);
  if (isUpToDate(output)) return output;
  mkdirSync(OUTPUT_FOLDER, { recursive: true });
  // --target release reads ./asconfig.json; -b sends the output here instead of build/main.wasm.
  execFileSync("npx", ["asc", entry, "--target", "release", "-b", output], { stdio: "inherit" });
  return output;
}

function isUpToDate(output: string): boolean {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  const inputs = [...readdirSync(SOURCE_FOLDER).map((name) => join(SOURCE_FOLDER, name)), "asconfig.json", "package-lock.json"];
  return inputs.every((input) => statSync(input).mtimeMs <= built);
}
