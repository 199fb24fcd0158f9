// Lines to stderr, each written whole before the call returns, from any thread. The command line
// runs the host on a thread of its own (host-thread.ts): a line that thread wrote through
// process.stderr would wait in a queue for the main thread, and be lost if the host thread then
// stuck in a plugin and was ended. Written here, every line is out the moment it is logged, and
// the two threads' lines come in the order they were written.

import { writeSync } from "node:fs";

const STDERR = 2;
const NEWLINE = Buffer.from("\n");
/** Waited on for a moment when stderr is a full pipe that does not block. */
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Write a line (text, or bytes as they are) and its newline to stderr. */
export function writeStderrLine(line: string | Uint8Array): void {
  const data = typeof line === "string" ? Buffer.from(line + "\n") : Buffer.concat([line, NEWLINE]);
  let written = 0;
  while (written < data.length) {
    try {
      written += writeSync(STDERR, data, written);
    } catch (error) {
      // a pipe the reader has not emptied: wait as a blocking write would
      if ((error as NodeJS.ErrnoException).code === "EAGAIN") Atomics.wait(pause, 0, 0, 1);
      // stderr closed or broken: there is nowhere left to write to
      else return;
    }
  }
}
