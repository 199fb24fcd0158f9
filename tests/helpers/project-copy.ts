// A scratch copy of the project for tests that create or edit its files (make new-filter, make dev):
// the sources and the build as they are, node_modules shared through a symbolic link.

import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./e2e-paths.ts";

/** Not copied: git's data, what the tests write, and node_modules (linked instead). */
const LEFT_OUT = new Set([".git", "node_modules", "bench/build", "bench/results.json"]);

/**
 * Whether `source` goes into a copy. In build/, the modules and files only, no folder: test files
 * run two at a time, and another one's scratch folder there (filter-check's) may come and go
 * while the copy is made.
 */
function isCopied(source: string): boolean {
  const relative = path.relative(ROOT, source);
  if (LEFT_OUT.has(relative)) return false;
  if (path.dirname(relative) !== "build") return true;
  return fs.lstatSync(source, { throwIfNoEntry: false })?.isFile() === true;
}

/**
 * Copies the project to a new temporary folder and returns its path. Times are kept, so that
 * make finds the copied build up to date exactly when the project's is.
 */
export function copyProject(prefix: string): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.cpSync(ROOT, copy, { recursive: true, preserveTimestamps: true, filter: isCopied });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
  // Older than any install: make in the copy never runs npm ci, which would empty the shared node_modules.
  fs.utimesSync(path.join(copy, "package-lock.json"), new Date(0), new Date(0));
  return copy;
}

/**
 * make's environment as a user has it: not that of a sub-make of `make test`, whose flags would
 * carry over, nor that of a test file, which would make a `node --test` under it report to this
 * test runner instead of printing its results.
 */
export function userMakeEnvironment(): NodeJS.ProcessEnv {
  const { MAKEFLAGS: _flags, MFLAGS: _mflags, MAKELEVEL: _level, NODE_TEST_CONTEXT: _testContext, ...env } = process.env;
  return env;
}

export interface MakeExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `make args` in `folder` to its end. */
export function runMake(folder: string, args: string[]): Promise<MakeExit> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn("make", ["--no-print-directory", ...args], { cwd: folder, env: userMakeEnvironment(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
