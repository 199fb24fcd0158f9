// Running the command line as a child process, the way users start it.

import { spawn, type ChildProcess } from "node:child_process";
import { CLI, ROOT } from "./e2e-paths.ts";

export interface CliExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** resolves with the whole output once the process has exited */
  exited: Promise<CliExit>;
  /** resolves once a stderr line contains `text`; rejects if the process exits first */
  waitForLog(text: string): Promise<void>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<CliExit>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  function waitForLog(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!stderr.includes(text)) return;
        child.stderr!.off("data", check);
        resolve();
      };
      child.stderr!.on("data", check);
      exited.then(() => reject(new Error(`the command line exited before logging '${text}':\n${stderr}`)));
      check();
    });
  }
  return { child, exited, waitForLog };
}

/** Run the command line to its end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliExit> {
  return startCli(args, env).exited;
}
