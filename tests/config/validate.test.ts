// The validator refuses what Envoy refuses, naming the file, line and YAML path of each problem.

import { test } from "node:test";
import assert from "node:assert/strict";
import { validateEnvoyConfig } from "../../host/config/validate.ts";
import { formatIssue } from "../../host/config/issues.ts";
import { envoyYaml, lineOf, mutate, ENVOY_YAML_PATH } from "./mutate.ts";

const TCP_PROXY = "static_resources.listeners[0].filter_chains[0].filters[1].typed_config";
const WASM_PLUGIN = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.config";

function issuesOf(yamlText: string): string[] {
  return validateEnvoyConfig(yamlText, ENVOY_YAML_PATH).map(formatIssue);
}

test("the shipped envoy.yaml is valid", () => {
  assert.deepEqual(issuesOf(envoyYaml), []);
});

test("a misspelt field is unknown", () => {
  const yamlText = mutate("stat_prefix: main_tcp", "stat_prefx: main_tcp");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("stat_prefx", yamlText)}: ${TCP_PROXY}.stat_prefx: unknown field "stat_prefx" in envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`,
    `envoy/envoy.yaml:${lineOf("typed_config:\n                \"@type\": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy")}: ${TCP_PROXY}.stat_prefix: value length must be at least 1`,
  ]);
});

test("camelCase field names are accepted as in proto3 JSON", () => {
  assert.deepEqual(issuesOf(mutate("lb_policy: ROUND_ROBIN", "lbPolicy: ROUND_ROBIN")), []);
});

test("an unknown @type is refused", () => {
  const yamlText = mutate("tcp_proxy.v3.TcpProxy", "tcp_proxy.v3.TcpProxyy");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("TcpProxyy", yamlText)}: ${TCP_PROXY}.@type: unknown type "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxyy": no such message in Envoy's API`,
  ]);
});

test("an Any body is checked against the type its @type names", () => {
  const yamlText = mutate("cluster: web_service", "cluster: web_service\n                route_config: {}");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("route_config: {}", yamlText)}: ${TCP_PROXY}.route_config: unknown field "route_config" in envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`,
  ]);
});

test("an HTTP filter type as a network filter is refused", () => {
  const yamlText = mutate(
    "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\n                stat_prefix: main_tcp\n                cluster: web_service",
    "envoy.extensions.filters.http.router.v3.Router",
  );
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("router.v3.Router", yamlText)}: ${TCP_PROXY}.@type: envoy.extensions.filters.http.router.v3.Router is not a network filter configuration`,
    `envoy/envoy.yaml:${lineOf("- name: envoy.filters.network.tcp_proxy", yamlText)}: static_resources.listeners[0].filter_chains[0].filters[1]: non-terminal filter named envoy.filters.network.tcp_proxy of type envoy.extensions.filters.http.router.v3.Router is the last filter in a network filter chain`,
  ]);
});

test("a bad enum name is refused with the names Envoy knows", () => {
  const issues = issuesOf(mutate("lb_policy: ROUND_ROBIN", "lb_policy: ROUND_ROBBIN"));
  assert.equal(issues.length, 1);
  assert.match(issues[0]!, /^envoy\/envoy\.yaml:\d+: static_resources\.clusters\[0\]\.lb_policy: unknown value "ROUND_ROBBIN" for enum envoy\.config\.cluster\.v3\.Cluster\.LbPolicy; expected one of ROUND_ROBIN, /);
});

test("a Duration must be seconds ending in s: 250ms is refused", () => {
  const yamlText = mutate("connect_timeout: 0.25s", "connect_timeout: 250ms");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("connect_timeout", yamlText)}: static_resources.clusters[0].connect_timeout: invalid duration "250ms": a google.protobuf.Duration is seconds ending in "s", e.g. "0.25s"`,
  ]);
});

test("a Duration rule (connect_timeout > 0) is enforced", () => {
  const yamlText = mutate("connect_timeout: 0.25s", "connect_timeout: 0s");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("connect_timeout", yamlText)}: static_resources.clusters[0].connect_timeout: value must be greater than 0s`,
  ]);
});

test("a missing stat_prefix breaks its min_len rule", () => {
  const yamlText = mutate("                stat_prefix: main_tcp\n", "");
  const typedConfigLine = lineOf("typed_config:\n                \"@type\": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy", yamlText);
  assert.deepEqual(issuesOf(yamlText), [`envoy/envoy.yaml:${typedConfigLine}: ${TCP_PROXY}.stat_prefix: value length must be at least 1`]);
});

test("a wrong scalar type is refused", () => {
  const yamlText = mutate("port_value: 8001", "port_value: eighty");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("port_value: eighty", yamlText)}: admin.address.socket_address.port_value: expected an integer (uint32), got "eighty"`,
  ]);
});

test("a numeric rule (port_value <= 65535) is enforced", () => {
  const yamlText = mutate("port_value: 8001", "port_value: 70000");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("port_value: 70000", yamlText)}: admin.address.socket_address.port_value: value must be less than or equal to 65535`,
  ]);
});

test("a tcp_proxy to an undefined cluster is refused", () => {
  const yamlText = mutate("cluster: web_service", "cluster: nowhere");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("cluster: nowhere", yamlText)}: ${TCP_PROXY}.cluster: unknown cluster "nowhere": no cluster of that name is defined`,
  ]);
});

test("the wasm filter after tcp_proxy is refused: the terminal filter must be last", () => {
  const wasmStart = envoyYaml.indexOf("            # A network (L4) filter");
  const tcpStart = envoyYaml.indexOf("            # Terminal filter");
  const tcpEnd = envoyYaml.indexOf("\n\n", tcpStart) + 1;
  const yamlText = envoyYaml.slice(0, wasmStart) + envoyYaml.slice(tcpStart, tcpEnd) + envoyYaml.slice(wasmStart, tcpStart) + envoyYaml.slice(tcpEnd);
  const first = "static_resources.listeners[0].filter_chains[0].filters[0]";
  const second = "static_resources.listeners[0].filter_chains[0].filters[1]";
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("- name: envoy.filters.network.tcp_proxy", yamlText)}: ${first}: terminal filter named envoy.filters.network.tcp_proxy of type envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy must be the last filter in a network filter chain`,
    `envoy/envoy.yaml:${lineOf("- name: envoy.filters.network.wasm", yamlText)}: ${second}: non-terminal filter named envoy.filters.network.wasm of type envoy.extensions.filters.network.wasm.v3.Wasm is the last filter in a network filter chain`,
  ]);
});

test("the router must be the last HTTP filter", () => {
  const yamlText = mutate(
    "                      \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n",
    "                      \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n" +
      "                  - name: envoy.filters.http.cors\n" +
      "                    typed_config:\n" +
      "                      \"@type\": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors\n",
  );
  const issues = issuesOf(yamlText);
  assert.equal(issues.length, 2);
  assert.match(issues[0]!, /http_filters\[0\]: terminal filter named envoy\.filters\.http\.router .* must be the last filter in a http filter chain$/);
  assert.match(issues[1]!, /http_filters\[1\]: non-terminal filter named envoy\.filters\.http\.cors .* is the last filter in a http filter chain$/);
});

test("two members of a oneof are refused", () => {
  const yamlText = mutate("prefix: /\n", "prefix: /\n                            path: /index.html\n");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("path: /index.html", yamlText)}: static_resources.listeners[1].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match.path: only one of "prefix" and "path" may be set (oneof path_specifier)`,
  ]);
});

test("a required oneof left empty is refused", () => {
  const yamlText = mutate("                            prefix: /\n", "                            case_sensitive: true\n");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("- match:", yamlText)}: static_resources.listeners[1].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match: one of "prefix", "path", "safe_regex", "connect_matcher", "path_separated_prefix", "path_match_policy" is required (oneof path_specifier)`,
  ]);
});

test("fail_open and failure_policy together are refused", () => {
  const yamlText = mutate("failure_policy: FAIL_CLOSED", "failure_policy: FAIL_CLOSED\n                  fail_open: true");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("fail_open: true", yamlText)}: ${WASM_PLUGIN}.fail_open: fail_open and failure_policy cannot both be set; use failure_policy alone`,
  ]);
});

test("current Envoy's reload_config is known, and its back-off rules apply", () => {
  const valid = mutate("failure_policy: FAIL_CLOSED", "failure_policy: FAIL_RELOAD\n                  reload_config:\n                    backoff:\n                      base_interval: 2s");
  assert.deepEqual(issuesOf(valid), []);
  const invalid = mutate("failure_policy: FAIL_CLOSED", "failure_policy: FAIL_RELOAD\n                  reload_config:\n                    backoff: {}");
  assert.deepEqual(issuesOf(invalid), [
    `envoy/envoy.yaml:${lineOf("backoff: {}", invalid)}: ${WASM_PLUGIN}.reload_config.backoff.base_interval: value is required`,
  ]);
});

test("duplicate listener names and cluster names are refused", () => {
  const listeners = mutate("\n    - name: staticreply\n", "\n    - name: main\n");
  assert.deepEqual(issuesOf(listeners), [
    `envoy/envoy.yaml:${lineOf("    - name: main\n      address:\n        socket_address:\n          address: 127.0.0.1", listeners)}: static_resources.listeners[1].name: duplicate listener "main"`,
  ]);
  // The cluster section ends the file: appending it again adds a second web_service.
  const cluster = envoyYaml.slice(envoyYaml.indexOf("    - name: web_service"));
  const clusters = envoyYaml + cluster;
  const secondLine = envoyYaml.split("\n").length;
  assert.deepEqual(issuesOf(clusters), [
    `envoy/envoy.yaml:${secondLine}: static_resources.clusters[1].name: duplicate cluster "web_service"`,
  ]);
});

test("a STATIC cluster needs an IP address", () => {
  const yamlText = mutate("                      address: 127.0.0.1\n", "                      address: localhost\n");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("address: localhost", yamlText)}: static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: malformed IP address: localhost`,
  ]);
});

test("invalid YAML is reported with its line", () => {
  assert.deepEqual(issuesOf("admin:\n  address: {port_value: 1\n"), [
    "envoy/envoy.yaml:3: (top level): invalid YAML: Flow map in block collection must be sufficiently indented and end with a }",
  ]);
});
