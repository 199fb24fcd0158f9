// Socket addresses as Envoy holds and prints them: the one format for log lines and for the
// `source.address` / `upstream.address` properties a plugin reads, and the one reading of a
// connected socket's two ends.

import { isIPv6, type Socket } from "node:net";
import { socketIpText } from "./net/ip-text.ts";
import type { Endpoint } from "./wasm/api.ts";

/** `127.0.0.1:18000`, `[::1]:18000` */
export function formatAddress(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * A connected socket's client (source) and the address it reached (destination), as Envoy's
 * listener takes them from accept and getsockname: an IPv4 client of a dual-stack socket is IPv4
 * (docs/envoy-host.md §5).
 */
export function socketEndpoints(socket: Socket): { source: Endpoint; destination: Endpoint } {
  return {
    source: { address: socketIpText(socket.remoteAddress ?? ""), port: socket.remotePort ?? 0 },
    destination: { address: socketIpText(socket.localAddress ?? ""), port: socket.localPort ?? 0 },
  };
}
