// Socket addresses as the local host prints and binds them.

import { isIPv6 } from "node:net";

/** `127.0.0.1:18000`, `[::1]:18000` */
export function formatAddress(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

const WILDCARD_ADDRESSES = new Set(["0.0.0.0", "::"]);

/**
 * The address to bind for a configured one: a wildcard (all interfaces, as in a container)
 * becomes the bind address (loopback unless told otherwise); a specific address stays.
 */
export function bindAddressFor(configured: string, bindAddress: string): string {
  return WILDCARD_ADDRESSES.has(configured) ? bindAddress : configured;
}

/** True when a listener configured on `listenerAddress` accepts connections sent to `target`. */
export function listenerAccepts(listenerAddress: string, target: string): boolean {
  return WILDCARD_ADDRESSES.has(listenerAddress) || listenerAddress === target;
}
