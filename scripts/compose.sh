#!/usr/bin/env bash
# Runs docker-compose (v1) or `docker compose` (v2), whichever this machine has, with the given
# args; without a compose tool or a running Docker engine it says so in one line (docker-compose
# 1.29 would end in a long Python traceback) and points at `make local`. ENVOY_CONFIG (a path
# inside the project, envoy/envoy.yaml by default) must name a file.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  echo "compose: neither docker-compose nor 'docker compose' is installed; make local runs the set-up without Docker" >&2
  exit 2
fi
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "compose: no Docker engine answers (docker info failed); start one, or run the set-up without Docker: make local" >&2
  exit 2
fi
# docker-compose.yml mounts ./$ENVOY_CONFIG: a missing file would be mounted as an empty folder
config=${ENVOY_CONFIG:-envoy/envoy.yaml}
if [ ! -f "$config" ]; then
  echo "compose: ENVOY_CONFIG=$config is not a file inside the project (e.g. examples/tcp_guard/envoy.yaml)" >&2
  exit 2
fi
exec "${compose[@]}" "$@"
