#!/usr/bin/env bash
# Envoy's image runs as uid 101: what docker-compose.yml mounts (envoy/envoy.yaml, the plugin
# folder) must be readable by everyone, even in a clone made under umask 077. Makes each path
# given readable, and folders searchable, by all (files are not made executable); a path that
# does not exist is left alone.
set -euo pipefail
for path in "$@"; do
  if [ -e "$path" ]; then chmod -R a+rX "$path"; fi
done
