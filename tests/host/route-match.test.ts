// docs/envoy-host.md §16: a direct-response route's header matchers, as Envoy 1.39.0's
// source/common/http/header_utility.{h,cc} match them (HeaderDataBaseImpl::matchesHeadersIndividually,
// HeaderDataStringMatch, the runtime guard match_headers_individually on by default), and their
// reading from envoy.yaml (examples/tcp_authz/envoy.yaml routes on x-source-address).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { DirectResponseRoute } from "../../host/config/model.ts";
import { loadEnvoyConfig } from "../../host/config/load.ts";
import { matchRoute } from "../../host/net/http/route-match.ts";

const DENY_127_0_0_2: DirectResponseRoute = {
  domains: ["*"],
  prefix: "/check",
  headers: [{ name: "x-source-address", prefix: "127.0.0.2:", ignoreCase: false, invertMatch: false }],
  status: 403,
  body: "denied\n",
};
const ALLOW: DirectResponseRoute = { domains: ["*"], prefix: "/check", status: 200, body: "allowed\n" };

function statusFor(routes: DirectResponseRoute[], headers: Record<string, string[]>): number | undefined {
  return matchRoute(routes, "authz", "/check", (name) => headers[name])?.status;
}

test("a route whose header matcher does not match is passed over for the next", () => {
  const routes = [DENY_127_0_0_2, ALLOW];
  assert.equal(statusFor(routes, { "x-source-address": ["127.0.0.2:4000"] }), 403);
  assert.equal(statusFor(routes, { "x-source-address": ["127.0.0.1:4000"] }), 200);
  // an absent header never matches
  assert.equal(statusFor(routes, {}), 200);
  // each value on its own: one matching value is enough
  assert.equal(statusFor(routes, { "x-source-address": ["10.0.0.1:1", "127.0.0.2:2"] }), 403);
});

test("invert_match: the route matches when the header is there and no value matches; exact and ignore_case", () => {
  const inverted: DirectResponseRoute = { ...DENY_127_0_0_2, headers: [{ name: "x-source-address", prefix: "127.0.0.2:", ignoreCase: false, invertMatch: true }] };
  assert.equal(statusFor([inverted, ALLOW], { "x-source-address": ["10.0.0.1:1"] }), 403);
  assert.equal(statusFor([inverted, ALLOW], { "x-source-address": ["127.0.0.2:1"] }), 200);
  assert.equal(statusFor([inverted, ALLOW], {}), 200);
  const exact: DirectResponseRoute = { ...DENY_127_0_0_2, headers: [{ name: "x-user", exact: "Bob", ignoreCase: true, invertMatch: false }] };
  assert.equal(statusFor([exact, ALLOW], { "x-user": ["bob"] }), 403);
  assert.equal(statusFor([exact, ALLOW], { "x-user": ["bobby"] }), 200);
});

test("examples/tcp_authz/envoy.yaml: the authz service's routes are read with their header matcher", () => {
  const config = loadEnvoyConfig("examples/tcp_authz/envoy.yaml");
  const service = config.listeners.find((listener) => listener.name === "authz_service")!;
  const manager = service.filters[0]!;
  assert.equal(manager.kind, "http_connection_manager");
  assert.deepEqual(manager.kind === "http_connection_manager" ? manager.routes : [], [DENY_127_0_0_2, ALLOW]);
});

test("a header matcher the local host does not implement is refused by name", () => {
  const yaml = `static_resources:
  listeners:
    - name: l
      address: { socket_address: { address: 127.0.0.1, port_value: 1 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: s
                route_config:
                  virtual_hosts:
                    - name: v
                      domains: ["*"]
                      routes:
                        - match: { prefix: /, headers: [{ name: x, present_match: true }] }
                          direct_response: { status: 200 }
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
`;
  const folder = mkdtempSync(join(tmpdir(), "route-match-"));
  try {
    const file = join(folder, "envoy.yaml");
    writeFileSync(file, yaml);
    assert.throws(() => loadEnvoyConfig(file), /present_match is not supported by the local host/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
