// Binding a server, with the one-line error a user needs when it fails.

import type { Server } from "node:net";
import { formatAddress } from "../../address.ts";

/** A server could not bind; the message is one line, e.g. `listener 'main' cannot bind ...`. */
export class ListenError extends Error {
  override name = "ListenError";
}

const REASONS: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EACCES: "permission denied",
  EADDRNOTAVAIL: "address not available on this machine",
};

/** Bind `server` and resolve with the bound port (useful when `port` is 0). */
export function listen(server: Server, what: string, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const reason = REASONS[error.code ?? ""] ?? error.message;
      reject(new ListenError(`${what} cannot bind ${formatAddress(address, port)}: ${reason}`));
    };
    server.once("error", onError);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off("error", onError);
      const bound = server.address();
      resolve(typeof bound === "object" && bound !== null ? bound.port : port);
    });
  });
}

/** Stop accepting; resolves when the server has closed (its open connections are ended elsewhere). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}
