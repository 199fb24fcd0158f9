// Where the plugin module lives on this machine. Envoy reads it inside its container from
// /etc/envoy/plugin/, which docker-compose.yml mounts from the plugin folder; the local host
// reads the same config, so it maps that folder back.

import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder docker-compose.yml mounts the plugin folder on inside the Envoy container. */
const CONTAINER_PLUGIN_FOLDER = "/etc/envoy/plugin/";

/** Where `make build` writes main.wasm. */
const BUILD_FOLDER = fileURLToPath(new URL("../build", import.meta.url));

/** The local path of `vm_config.code.local.filename`; other paths are used as written. */
export function resolvePluginPath(codeFilename: string, pluginFolder: string): string {
  if (codeFilename.startsWith(CONTAINER_PLUGIN_FOLDER)) {
    return resolve(pluginFolder, codeFilename.slice(CONTAINER_PLUGIN_FOLDER.length));
  }
  return resolve(codeFilename);
}

/**
 * Why the module `codeFilename` names is not at `wasmPath`, in words a user can act on: the
 * build was not made, the plugin folder given does not exist, or it lacks the file.
 */
export function whyPluginMissing(codeFilename: string, pluginFolder: string, wasmPath: string): string {
  if (!codeFilename.startsWith(CONTAINER_PLUGIN_FOLDER)) return `${wasmPath} does not exist`;
  const folder = resolve(pluginFolder);
  if (folder === BUILD_FOLDER) return `${wasmPath} does not exist (${codeFilename}); run make build`;
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    return `the plugin folder ${folder} (--plugin-folder, $FOLDER_PLUGIN; ${CONTAINER_PLUGIN_FOLDER} in the container) is not a folder on this machine`;
  }
  return `${wasmPath} does not exist: the plugin folder ${folder} (--plugin-folder, $FOLDER_PLUGIN) has no ${codeFilename.slice(CONTAINER_PLUGIN_FOLDER.length)}`;
}
