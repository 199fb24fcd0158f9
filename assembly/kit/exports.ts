// A filter module's ABI exports, every one of them: the ABI marker, malloc, and each proxy_on_*
// callback Envoy calls on a network filter, handed to the dispatcher (filter.ts).
//
// The dispatcher is the global `networkFilter`, which the filter's entry file declares with its
// concrete classes before re-exporting this module:
//
//   export * from "../kit/exports";
//   // @ts-ignore: decorator
//   @global const networkFilter = new NetworkFilter<MyPlugin, MyConnection>(["my_root_id"]);
//
// so each call below is compiled against those classes. proxy-runtime 0.1.8 exports none of the
// network callbacks, and its own exports would look contexts up in its context map: none of them
// is exported.

import { FilterStatusValues, PeerTypeValues } from "@solo-io/proxy-runtime/runtime";

// ABI 0.2.1 is 0.2.0 plus proxy_get_log_level, which spares building lines the host would drop.
// Envoy takes the first marker it finds in the export section: this is the only one.
export function proxy_abi_version_0_2_1(): void {}

export { malloc } from "@solo-io/proxy-runtime/malloc";

export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  networkFilter.createContext(context_id, root_context_id);
}

export function proxy_on_vm_start(root_context_id: u32, vm_configuration_size: u32): u32 {
  return networkFilter.vmStart(root_context_id) ? 1 : 0;
}

export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  return networkFilter.configure(root_context_id, configuration_size) ? 1 : 0;
}

// Only after the plugin set a tick period (tick.ts): Envoy calls it on the root context.
export function proxy_on_tick(root_context_id: u32): void {
  networkFilter.tick(root_context_id);
}

export function proxy_on_new_connection(context_id: u32): FilterStatusValues {
  return networkFilter.newConnection(context_id);
}

export function proxy_on_downstream_data(context_id: u32, data_size: u32, end_of_stream: u32): FilterStatusValues {
  return networkFilter.data(context_id, data_size, end_of_stream != 0, true);
}

export function proxy_on_upstream_data(context_id: u32, data_size: u32, end_of_stream: u32): FilterStatusValues {
  return networkFilter.data(context_id, data_size, end_of_stream != 0, false);
}

export function proxy_on_downstream_connection_close(context_id: u32, peer_type: u32): void {
  networkFilter.downstreamConnectionClose(context_id, <PeerTypeValues>peer_type);
}

export function proxy_on_upstream_connection_close(context_id: u32, peer_type: u32): void {
  networkFilter.upstreamConnectionClose(context_id, <PeerTypeValues>peer_type);
}

// Envoy calls it on the root context that made the call (docs/envoy-host.md §19).
export function proxy_on_http_call_response(context_id: u32, token: u32, headers: u32, body_size: u32, trailers: u32): void {
  networkFilter.httpCallResponse(token, headers, body_size, trailers);
}

// Its return value is ignored for a TCP connection (docs/envoy-host.md §3); 1 lets Envoy delete a
// root context at shutdown at once.
export function proxy_on_done(context_id: u32): u32 {
  networkFilter.done(context_id);
  return 1;
}

// Envoy calls it after proxy_on_done; a filter logs its summary in onDone.
export function proxy_on_log(context_id: u32): void {}

export function proxy_on_delete(context_id: u32): void {
  networkFilter.delete(context_id);
}
