// The load generator of the end-to-end benchmark, run as a child process so that the clients do
// not share the host's event loop (nor its core). Each run: `concurrency` clients, each doing one
// request per connection the way `curl -i --data` does with HTTP/1.0 semantics (connect, send the
// request as one lump, half-close, read to the end, close), until the request count or the time
// is used up. The parent sends a LoadRun and receives a LoadResult for each.

import { connect } from "node:net";

export interface LoadRun {
  port: number;
  concurrency: number;
  maxRequests: number;
  maxMs: number;
}

export interface LoadResult {
  completed: number;
  failed: number;
  elapsedMs: number;
  /** one per completed request: connect to the reply's end, in ms */
  latenciesMs: number[];
}

const BODY = "[initial body]";
const REQUEST = Buffer.from(
  `POST / HTTP/1.1\r\nHost: localhost:18000\r\nUser-Agent: bench\r\nAccept: */*\r\n` +
    `Content-Length: ${BODY.length}\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n${BODY}`,
);
const OK_STATUS = Buffer.from("HTTP/1.1 200 ");
/** A request slower than this counts as failed, so a run always ends. */
const REQUEST_TIMEOUT_MS = 5000;

/** One request on its own connection; resolves true when a 200 reply was read to its end. */
function oneRequest(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true, noDelay: true });
    const chunks: Buffer[] = [];
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy(new Error("timeout")));
    socket.once("connect", () => socket.end(REQUEST));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("error", () => resolve(false));
    socket.once("end", () => {
      socket.destroy();
      const reply = Buffer.concat(chunks);
      resolve(reply.subarray(0, OK_STATUS.length).equals(OK_STATUS));
    });
  });
}

async function runLoad(run: LoadRun): Promise<LoadResult> {
  const result: LoadResult = { completed: 0, failed: 0, elapsedMs: 0, latenciesMs: [] };
  const start = performance.now();
  const deadline = start + run.maxMs;
  let issued = 0;
  async function client(): Promise<void> {
    while (issued < run.maxRequests && performance.now() < deadline) {
      issued++;
      const begun = performance.now();
      if (await oneRequest(run.port)) {
        result.completed++;
        result.latenciesMs.push(performance.now() - begun);
      } else {
        result.failed++;
      }
    }
  }
  await Promise.all(Array.from({ length: run.concurrency }, client));
  result.elapsedMs = performance.now() - start;
  return result;
}

process.on("message", (run: LoadRun) => {
  void runLoad(run).then((result) => process.send!(result));
});
// The parent closes the IPC channel when it is done; the process then has nothing left to do.
process.on("disconnect", () => process.exit(0));
