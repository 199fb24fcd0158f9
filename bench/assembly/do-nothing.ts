// The do-nothing baseline: the plugin's shape (a root context, an id -> connection registry, the
// network callbacks proxy-runtime 0.1.8 lacks) with nothing done in any callback. Built with the
// same toolchain and flags as build/main.wasm, it is the cheapest a plugin on this stack can be,
// so the benchmarks divide the plugin's costs by its costs.

import { Context, FilterStatusValues, RootContext } from "@solo-io/proxy-runtime/runtime";

export { proxy_abi_version_0_2_0 } from "@solo-io/proxy-runtime/exports";
export { malloc } from "@solo-io/proxy-runtime/malloc";

class BaselineConnection extends Context {
  // Every network callback lands here: the data passes untouched.
  pass(): FilterStatusValues {
    return FilterStatusValues.Continue;
  }
}

const roots = new Map<u32, RootContext>();
const connections = new Map<u32, BaselineConnection>();

// Looked up as the plugin does, so the baseline pays for the registry too.
function findConnection(context_id: u32): BaselineConnection | null {
  return connections.has(context_id) ? connections.get(context_id) : null;
}

function pass(context_id: u32): FilterStatusValues {
  const connection = findConnection(context_id);
  return connection === null ? FilterStatusValues.Continue : connection.pass();
}

export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  if (root_context_id == 0) {
    roots.set(context_id, new RootContext(context_id));
  } else if (roots.has(root_context_id)) {
    connections.set(context_id, new BaselineConnection(context_id, roots.get(root_context_id)));
  }
}

export function proxy_on_vm_start(root_context_id: u32, vm_configuration_size: u32): u32 {
  return roots.has(root_context_id) ? 1 : 0;
}

export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  return roots.has(root_context_id) ? 1 : 0;
}

export function proxy_on_new_connection(context_id: u32): FilterStatusValues {
  return pass(context_id);
}

export function proxy_on_downstream_data(context_id: u32, data_size: u32, end_of_stream: u32): FilterStatusValues {
  return pass(context_id);
}

export function proxy_on_upstream_data(context_id: u32, data_size: u32, end_of_stream: u32): FilterStatusValues {
  return pass(context_id);
}

export function proxy_on_downstream_connection_close(context_id: u32, peer_type: u32): void {
  pass(context_id);
}

export function proxy_on_upstream_connection_close(context_id: u32, peer_type: u32): void {
  pass(context_id);
}

export function proxy_on_done(context_id: u32): u32 {
  return 1;
}

export function proxy_on_log(context_id: u32): void {}

export function proxy_on_delete(context_id: u32): void {
  if (!connections.delete(context_id)) roots.delete(context_id);
}
