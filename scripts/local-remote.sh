#!/usr/bin/env bash
# make local-remote: the local host on envoy/envoy-remote.yaml with the module fetched over HTTP.
# The plugin folder is served on 127.0.0.1:8088 (cluster plugin_server), and the config is
# written to build/envoy-remote.yaml with the sha256 of the folder's main.wasm. Arguments go to
# the local host (e.g. --component-log-level config:debug to see each fetch).
set -euo pipefail
cd "$(dirname "$0")/.."
folder=${FOLDER_PLUGIN:-./build}
sha256=$(sha256sum "$folder/main.wasm" | cut -d' ' -f1)
mkdir -p build
sed "s/sha256: \"0\{64\}\"/sha256: \"$sha256\"/" envoy/envoy-remote.yaml >build/envoy-remote.yaml
node --import tsx scripts/serve-folder.ts "$folder" 8088 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
node --import tsx host/cli.ts -c build/envoy-remote.yaml --concurrency "${ENVOY_CONCURRENCY:-1}" "$@"
