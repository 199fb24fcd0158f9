// Running a command to its end (a system tool or one of the project's scripts) and whether a
// system tool is on this machine.

import { spawn, spawnSync } from "node:child_process";
import { ROOT } from "./e2e-paths.ts";

export interface ToolExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args` in the project's root; kills it after `timeoutMs`. */
export function runTool(command: string, args: string[], timeoutMs = 60_000): Promise<ToolExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a TypeScript script of the project with node and tsx. */
export function runScript(script: string, args: string[]): Promise<ToolExit> {
  return runTool(process.execPath, ["--import", "tsx", script, ...args]);
}

/** Whether `tool` is on the PATH. */
export function installed(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

/** The skip reason of a test that needs these tools: the first one missing, or false. */
export function skipWithout(...tools: string[]): string | false {
  const missing = tools.find((tool) => !installed(tool));
  return missing === undefined ? false : `skipped: ${missing} not installed`;
}
