// Clients for the end-to-end tests: the real curl the way users run it, and raw sockets for
// exact bytes and for bulk.

import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { connect } from "node:net";
import { delimiter, join } from "node:path";

export interface CurlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The first executable `name` on PATH, or undefined. */
function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter((entry) => entry !== "")) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const CURL = findOnPath("curl");

/** Options of a test (or suite) that runs curl: skipped, and saying so, where curl is not installed. */
export const NEEDS_CURL = { skip: CURL === undefined ? "skipped: curl not installed" : false };

/** Run the real curl; a failed transfer is a result (its exit code), not an exception. */
export function curl(args: string[]): Promise<CurlResult> {
  if (CURL === undefined) throw new Error("curl is not installed: give the test NEEDS_CURL");
  return new Promise((resolve) => {
    execFile(CURL, ["--silent", "--show-error", "--max-time", "10", ...args], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr });
    });
  });
}

/** curl -i output split: status line, lower-cased headers, body. */
export function parseHttpResponse(text: string): { status: number; headers: Map<string, string>; body: string } {
  const split = text.indexOf("\r\n\r\n");
  const [statusLine, ...headerLines] = text.slice(0, split).split("\r\n");
  const headers = new Map(
    headerLines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as [string, string];
    }),
  );
  return { status: Number(statusLine.split(" ")[1]), headers, body: text.slice(split + 4) };
}

/** The HTTP request curl sends with `--data '[initial body]'`, minus its user-agent and accept lines. */
export function postRequest(host: string): string {
  const body = "[initial body]";
  return (
    `POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${body.length}\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\n\r\n${body}`
  );
}

/**
 * Open a TCP connection, send `request`, half-close after `closeAfter` bytes of reply have arrived
 * (immediately when 0), and resolve with everything read until the peer's end.
 */
export function exchange(port: number, request: string, closeAfter = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let received = 0;
    socket.on("error", reject);
    socket.on("connect", () => {
      socket.write(request);
      if (closeAfter === 0) socket.end();
    });
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (closeAfter > 0 && received >= closeAfter && !socket.writableEnded) socket.end();
    });
    socket.on("end", () => {
      socket.end();
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
  });
}
