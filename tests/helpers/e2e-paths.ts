// Where the end-to-end tests find the project's files.

import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const ENVOY_YAML = join(ROOT, "envoy", "envoy.yaml");
export const TCP_GUARD_YAML = join(ROOT, "examples", "tcp_guard", "envoy.yaml");
export const BUILD_FOLDER = join(ROOT, "build");
export const CLI = join(ROOT, "host", "cli.ts");
