#!/usr/bin/env bash
# Runs docker-compose (v1) or `docker compose` (v2), whichever this machine has, with the given args.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v docker-compose >/dev/null 2>&1; then
  exec docker-compose "$@"
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  exec docker compose "$@"
fi
echo "compose: neither docker-compose nor 'docker compose' is installed" >&2
exit 2
