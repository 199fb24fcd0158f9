// The plugin's entry: its ABI exports and the root ids it serves, nothing else.
// The library's context callbacks are not exported: they would look ids up in the library's own
// context map, which the plugin does not use (see network.ts).

import { serveRootId } from "./root";

// ABI 0.2.1 is 0.2.0 plus proxy_get_log_level (host.ts), which spares building lines the host
// would drop. The library's 0_2_0 marker is not exported as well: Envoy takes the first marker
// it finds in the export section.
export function proxy_abi_version_0_2_1(): void {}

export { malloc } from "@solo-io/proxy-runtime/malloc";
export { proxy_on_vm_start, proxy_on_configure } from "./root";
export {
  proxy_on_context_create,
  proxy_on_new_connection,
  proxy_on_downstream_data,
  proxy_on_upstream_data,
  proxy_on_downstream_connection_close,
  proxy_on_upstream_connection_close,
  proxy_on_done,
  proxy_on_log,
  proxy_on_delete,
} from "./network";

// envoy/envoy.yaml's root_id, and "" for a configuration that leaves root_id out.
serveRootId("tcp_connection_logger");
serveRootId("");
