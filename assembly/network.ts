// The ABI glue for contexts: the plugin keeps its own id -> TcpConnection registry and exports
// the network callbacks proxy-runtime 0.1.8 lacks. Calls go to the concrete TcpConnection type,
// never through the library's Context (whose overrides AssemblyScript 0.17 can skip), and never
// through the library's context map (whose per-connection debug strings grow with the number of
// open connections). Root ids go to root.ts.

import { FilterStatusValues, log, LogLevelValues } from "@solo-io/proxy-runtime/runtime";
import { TcpConnection } from "./connection";
import { createRoot, deleteRoot, findRoot } from "./root";

const connections = new Map<u32, TcpConnection>();

function findConnection(context_id: u32): TcpConnection | null {
  return connections.has(context_id) ? connections.get(context_id) : null;
}

export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  if (root_context_id == 0) {
    createRoot(context_id);
    return;
  }
  const root = findRoot(root_context_id);
  if (root === null) {
    log(LogLevelValues.error, "connection " + context_id.toString() + ": unknown root context " + root_context_id.toString());
    return;
  }
  connections.set(context_id, new TcpConnection(context_id, root));
}

export function proxy_on_new_connection(context_id: u32): FilterStatusValues {
  const connection = findConnection(context_id);
  return connection === null ? FilterStatusValues.Continue : connection.onNewConnection();
}

export function proxy_on_downstream_data(context_id: u32, data_size: u32, end_of_stream: u32): FilterStatusValues {
  const connection = findConnection(context_id);
  return connection === null ? FilterStatusValues.Continue : connection.onDownstreamData(data_size, end_of_stream != 0);
}

export function proxy_on_upstream_data(context_id: u32, data_size: u32, end_of_stream: u32): FilterStatusValues {
  const connection = findConnection(context_id);
  return connection === null ? FilterStatusValues.Continue : connection.onUpstreamData(data_size, end_of_stream != 0);
}

export function proxy_on_downstream_connection_close(context_id: u32, peer_type: u32): void {
  const connection = findConnection(context_id);
  if (connection !== null) connection.onDownstreamConnectionClose(peer_type);
}

export function proxy_on_upstream_connection_close(context_id: u32, peer_type: u32): void {
  const connection = findConnection(context_id);
  if (connection !== null) connection.onUpstreamConnectionClose(peer_type);
}

// A root context has nothing to finish (no HTTP calls, no timers): it is done at once.
export function proxy_on_done(context_id: u32): u32 {
  const connection = findConnection(context_id);
  return connection === null || connection.onDone() ? 1 : 0;
}

// Envoy calls it after proxy_on_done; the connection's summary is already logged by then.
// Exported so that the library's version, which would look the id up in its own map, is not.
export function proxy_on_log(context_id: u32): void {}

// Dropping the registry's reference frees the connection and everything it held.
export function proxy_on_delete(context_id: u32): void {
  if (!connections.delete(context_id)) deleteRoot(context_id);
}
