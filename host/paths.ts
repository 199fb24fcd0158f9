// Where the plugin module lives on this machine. Envoy reads it inside its container from
// /etc/envoy/plugin/, which docker-compose.yml mounts from the plugin folder; the local host
// reads the same config, so it maps that folder back.

import { resolve } from "node:path";

/** The folder docker-compose.yml mounts the plugin folder on inside the Envoy container. */
const CONTAINER_PLUGIN_FOLDER = "/etc/envoy/plugin/";

/** The local path of `vm_config.code.local.filename`; other paths are used as written. */
export function resolvePluginPath(codeFilename: string, pluginFolder: string): string {
  if (codeFilename.startsWith(CONTAINER_PLUGIN_FOLDER)) {
    return resolve(pluginFolder, codeFilename.slice(CONTAINER_PLUGIN_FOLDER.length));
  }
  return resolve(codeFilename);
}
