// Which addresses the local host binds and accepts on.

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
