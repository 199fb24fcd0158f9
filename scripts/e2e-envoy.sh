#!/usr/bin/env bash
# End-to-end checks against Envoy running the plugin (scripts/compose.sh up -d), the same as the
# local host's end-to-end tests: 200 and the direct response body through listener main, the
# plugin's log lines (configuration, each connection, the cluster's location metadata), and its
# counter moving by exactly the number of connections made, in both admin stats formats.
# Without a Docker engine there is nothing to test: it says so and succeeds.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "e2e-envoy: skipped: no Docker engine"
  exit 0
fi

ADMIN=localhost:8001
LISTENER=localhost:18000
HEAD_REQUESTS=${HEAD_REQUESTS:-5}
passed=0
failed=0

check() { # check <description> <command...>: runs the command, counts and prints the outcome
  local description=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $description"
  else
    failed=$((failed + 1))
    echo "FAILED: $description"
  fi
}

counter_from_stats() { # the connection_counter in /stats, 0 before the first connection ends
  curl -s "$ADMIN/stats" | sed -n 's/^wasmcustom\.connection_counter: //p' | grep . || echo 0
}

envoy_logs() { scripts/compose.sh logs --no-log-prefix envoy 2>&1; }

count_lines() { # count_lines <text>: how many lines of Envoy's log contain it
  envoy_logs | grep -cF -- "$1"
}

wait_ready() {
  for _ in $(seq 1 60); do
    curl -s "$ADMIN/ready" | grep -q LIVE && return 0
    sleep 1
  done
  return 1
}

check "Envoy admin /ready says LIVE" wait_ready
before=$(counter_from_stats)
done_before=$(count_lines ": done: ")

response=$(curl -s -i "$LISTENER" --data '[initial body]')
check "POST through listener main answers 200" grep -q '^HTTP/1.1 200' <<<"$response"
check "POST through listener main answers the direct response body" grep -q 'example body' <<<"$response"
for _ in $(seq 1 "$HEAD_REQUESTS"); do curl -s --head "$LISTENER" >/dev/null; done

# The counter moves when each connection is done: allow Envoy a moment to close them.
expected=$((before + 1 + HEAD_REQUESTS))
for _ in $(seq 1 20); do
  [ "$(counter_from_stats)" -ge "$expected" ] && break
  sleep 0.5
done

logs=$(envoy_logs)
connections=$((1 + HEAD_REQUESTS))
check "the plugin logged its configuration" grep -qF 'configured: metadata_namespace=location payload_preview_bytes=256' <<<"$logs"
check "the plugin logged a new connection" grep -qF 'new connection from' <<<"$logs"
check "the plugin logged the POST it saw" grep -qF 'downstream data: ' <<<"$logs"
check "the plugin logged the upstream address" grep -qF 'upstream address: 127.0.0.1:8099' <<<"$logs"
for pair in az:ap-northeast-1a cloud_provider:aws region:ap-northeast-1; do
  check "the plugin logged the cluster metadata location.${pair%%:*}" grep -qF "upstream cluster metadata location.${pair%%:*}: ${pair#*:}" <<<"$logs"
done
check "the plugin logged the reply" grep -qF 'example body\n' <<<"$logs"
check "the plugin logged $connections more connections done" test "$(count_lines ": done: ")" -eq "$((done_before + connections))"
check "/stats shows wasmcustom.connection_counter: $expected" grep -qx "wasmcustom.connection_counter: $expected" <<<"$(curl -s "$ADMIN/stats")"
check "/stats/prometheus shows connection_counter{} $expected" grep -qx "connection_counter{} $expected" <<<"$(curl -s "$ADMIN/stats/prometheus")"
check "/stats shows wasmcustom.connection_active: 0" grep -qx "wasmcustom.connection_active: 0" <<<"$(curl -s "$ADMIN/stats")"

echo "e2e-envoy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
