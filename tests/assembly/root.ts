// Starting a root context through the kit's exports as Envoy does (docs/envoy-host.md §2), for the
// specs that drive a whole filter: the spec imports the filter's index.ts first.

import { proxy_on_configure, proxy_on_context_create, proxy_on_vm_start } from "../../assembly/kit/exports";
import { setBuffer, setStringProperty } from "./mock";

const PLUGIN_CONFIGURATION: u32 = 7;

/**
 * Creates root context `root` for `rootId`, starts it and configures it with `json`. Returns what
 * proxy_on_configure answers (1 when the configuration is taken), or 0 when the start failed.
 */
export function startRoot(root: u32, rootId: string, json: string): u32 {
  setStringProperty("plugin_root_id", rootId);
  const configuration = String.UTF8.encode(json);
  setBuffer(PLUGIN_CONFIGURATION, configuration);
  proxy_on_context_create(root, 0);
  if (proxy_on_vm_start(root, 0) == 0) return 0;
  return proxy_on_configure(root, configuration.byteLength);
}
