// Admin /listeners as Envoy's ListenersHandler answers it (handlerListenerInfo,
// source/server/admin/listeners_handler.cc; docs/envoy-host.md §14): `<name>::<address>` per
// listener, or with `format=json` the envoy.admin.v3.Listeners message.

import { formatAddress } from "../address.ts";
import { protoJson } from "./proto-json.ts";

export interface BoundListener {
  name: string;
  /** the address the listener is bound to on this machine */
  address: string;
  port: number;
}

export function renderListenersText(listeners: readonly BoundListener[]): string {
  return listeners.map(({ name, address, port }) => `${name}::${formatAddress(address, port)}\n`).join("");
}

export function renderListenersJson(listeners: readonly BoundListener[]): string {
  return protoJson({
    listener_statuses: listeners.map(({ name, address, port }) => ({
      name,
      local_address: { socket_address: { address, port_value: port } },
    })),
  });
}
