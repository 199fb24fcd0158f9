// Socket addresses as Envoy prints them: the one format for log lines and for the
// `source.address` / `upstream.address` properties a plugin reads.

import { isIPv6 } from "node:net";

/** `127.0.0.1:18000`, `[::1]:18000` */
export function formatAddress(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}
