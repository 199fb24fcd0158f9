// The loader maps the shipped envoy.yaml to the model, folds the failure policy, and refuses
// what the local host does not implement by name.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError, loadEnvoyConfig } from "../../host/config/load.ts";
import type { EnvoyConfig } from "../../host/config/model.ts";
import { lineOf, mutate, ENVOY_YAML_PATH } from "./mutate.ts";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "envoy-config-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

function loadText(yamlText: string): EnvoyConfig {
  const file = path.join(scratch, "envoy.yaml");
  fs.writeFileSync(file, yamlText);
  return loadEnvoyConfig(file);
}

function loadError(yamlText: string): string {
  try {
    loadText(yamlText);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message.replaceAll(path.join(scratch, "envoy.yaml"), "envoy.yaml");
  }
  assert.fail("the config was accepted");
}

const EXPECTED: EnvoyConfig = {
  admin: { address: { address: "0.0.0.0", port: 8001 } },
  listeners: [
    {
      name: "main",
      address: { address: "0.0.0.0", port: 18000 },
      listenerFilters: [],
      listenerFiltersTimeoutMs: 15_000,
      continueOnListenerFiltersTimeout: false,
      filters: [
        {
          kind: "wasm",
          filterName: "envoy.filters.network.wasm",
          name: "tcp_connection_logger",
          rootId: "tcp_connection_logger",
          vmId: "tcp_connection_logger",
          runtime: "envoy.wasm.runtime.v8",
          code: { kind: "local", filename: "/etc/envoy/plugin/main.wasm" },
          configuration: '{"metadata_namespace": "location", "payload_preview_bytes": 256}',
          vmConfiguration: "",
          failurePolicy: "FAIL_CLOSED",
          legacyFailOpen: false,
          reloadBackoffMs: 1000,
        },
        {
          kind: "tcp_proxy",
          filterName: "envoy.filters.network.tcp_proxy",
          statPrefix: "main_tcp",
          cluster: "web_service",
          idleTimeoutMs: 3_600_000,
        },
      ],
    },
    {
      name: "staticreply",
      address: { address: "127.0.0.1", port: 8099 },
      listenerFilters: [],
      listenerFiltersTimeoutMs: 15_000,
      continueOnListenerFiltersTimeout: false,
      filters: [
        {
          kind: "http_connection_manager",
          filterName: "envoy.filters.network.http_connection_manager",
          statPrefix: "staticreply",
          routes: [{ domains: ["*"], prefix: "/", status: 200, body: "example body\n" }],
          streamIdleTimeoutMs: 300_000,
          idleTimeoutMs: 3_600_000,
        },
      ],
    },
  ],
  clusters: [
    {
      name: "web_service",
      type: "STATIC",
      lbPolicy: "ROUND_ROBIN",
      connectTimeoutMs: 250,
      endpoints: [{ address: { address: "127.0.0.1", port: 8099 }, metadata: { filterMetadata: {} } }],
      metadata: { filterMetadata: { location: { cloud_provider: "aws", region: "ap-northeast-1", az: "ap-northeast-1a" } } },
    },
  ],
};

test("the shipped envoy.yaml maps to the model", () => {
  assert.deepEqual(loadEnvoyConfig(ENVOY_YAML_PATH), EXPECTED);
});

test("the legacy fail_open: true alone means FAIL_OPEN, and is kept apart from failure_policy: FAIL_OPEN", () => {
  const legacy = loadText(mutate("failure_policy: FAIL_CLOSED", "fail_open: true"));
  assert.deepEqual(legacy.listeners[0]!.filters[0], { ...EXPECTED.listeners[0]!.filters[0]!, failurePolicy: "FAIL_OPEN", legacyFailOpen: true });
  const policy = loadText(mutate("failure_policy: FAIL_CLOSED", "failure_policy: FAIL_OPEN"));
  assert.deepEqual(policy.listeners[0]!.filters[0], { ...EXPECTED.listeners[0]!.filters[0]!, failurePolicy: "FAIL_OPEN", legacyFailOpen: false });
});

test("no failure_policy at all means FAIL_CLOSED; FAIL_RELOAD takes its back-off", () => {
  const none = loadText(mutate("                  failure_policy: FAIL_CLOSED\n", ""));
  assert.deepEqual(none.listeners[0]!.filters[0], { ...EXPECTED.listeners[0]!.filters[0]!, failurePolicy: "FAIL_CLOSED" });
  const reload = loadText(mutate("failure_policy: FAIL_CLOSED", "failure_policy: FAIL_RELOAD\n                  reload_config:\n                    backoff:\n                      base_interval: 2.5s"));
  assert.deepEqual(reload.listeners[0]!.filters[0], { ...EXPECTED.listeners[0]!.filters[0]!, failurePolicy: "FAIL_RELOAD", reloadBackoffMs: 2500 });
});

test("invalid configs throw a ConfigError listing every issue", () => {
  const yamlText = mutate("failure_policy: FAIL_CLOSED", "failure_policy: FAIL_CLOSED\n                  fail_open: true");
  assert.equal(
    loadError(yamlText),
    `envoy.yaml:${lineOf("fail_open", yamlText)}: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.config.fail_open: fail_open and failure_policy cannot both be set; use failure_policy alone`,
  );
});

test("a cluster type other than STATIC is refused by name", () => {
  const yamlText = mutate("type: STATIC", "type: STRICT_DNS");
  assert.equal(
    loadError(yamlText),
    `envoy.yaml:${lineOf("type: STRICT_DNS", yamlText)}: static_resources.clusters[0].type: cluster type STRICT_DNS is not supported by the local host; run it in Envoy with docker-compose up`,
  );
});

test("a tcp_proxy setting the local host lacks is refused by name", () => {
  const yamlText = mutate("cluster: web_service", "cluster: web_service\n                max_connect_attempts: 3");
  assert.equal(
    loadError(yamlText),
    `envoy.yaml:${lineOf("max_connect_attempts", yamlText)}: static_resources.listeners[0].filter_chains[0].filters[1].typed_config.max_connect_attempts: max_connect_attempts is not supported by the local host; run it in Envoy with docker-compose up`,
  );
});

test("tcp_proxy idle_timeout: 1 hour when absent, whole milliseconds as given, 0s for none, negative refused", () => {
  const tcpProxyWith = (idleTimeout: string) =>
    loadText(mutate("cluster: web_service", `cluster: web_service\n                idle_timeout: ${idleTimeout}`)).listeners[0]!.filters[1];
  const expected = EXPECTED.listeners[0]!.filters[1]!;
  assert.deepEqual(tcpProxyWith("10s"), { ...expected, idleTimeoutMs: 10_000 });
  assert.deepEqual(tcpProxyWith("0.25s"), { ...expected, idleTimeoutMs: 250 });
  assert.deepEqual(tcpProxyWith("0s"), { ...expected, idleTimeoutMs: 0 });
  // Envoy reads it in whole milliseconds, and 0 is no timeout
  assert.deepEqual(tcpProxyWith("0.0005s"), { ...expected, idleTimeoutMs: 0 });
  const yamlText = mutate("cluster: web_service", "cluster: web_service\n                idle_timeout: -1s");
  assert.equal(
    loadError(yamlText),
    `envoy.yaml:${lineOf("idle_timeout", yamlText)}: static_resources.listeners[0].filter_chains[0].filters[1].typed_config.idle_timeout: Expected positive duration: -1s`,
  );
});

test("a route other than a direct response is refused by name", () => {
  const yamlText = mutate(
    "                          direct_response:\n                            status: 200\n                            body:\n                              inline_string: \"example body\\n\"\n",
    "                          route:\n                            cluster: web_service\n",
  );
  assert.equal(
    loadError(yamlText),
    [
      `envoy.yaml:${lineOf("route:\n                            cluster", yamlText)}: static_resources.listeners[1].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route: route is not supported by the local host; run it in Envoy with docker-compose up`,
      `envoy.yaml:${lineOf("- match:", yamlText)}: static_resources.listeners[1].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0]: a route other than direct_response is not supported by the local host; run it in Envoy with docker-compose up`,
    ].join("\n"),
  );
});

const remoteYaml = fs.readFileSync("envoy/envoy-remote.yaml", "utf8");
const remoteCodeOf = (config: EnvoyConfig) => {
  const filter = config.listeners[0]!.filters[0]!;
  assert.equal(filter.kind, "wasm");
  return filter.kind === "wasm" ? filter.code : undefined;
};

test("envoy-remote.yaml maps code.remote: uri, cluster, timeout, sha256, retries and back-off", () => {
  assert.deepEqual(remoteCodeOf(loadEnvoyConfig("envoy/envoy-remote.yaml")), {
    kind: "remote",
    uri: "http://127.0.0.1:8088/main.wasm",
    cluster: "plugin_server",
    timeoutMs: 10000,
    sha256: "0".repeat(64),
    numRetries: 3,
    backoffBaseMs: 500,
    backoffMaxMs: 2000,
  });
});

test("code.remote without retry_policy takes Envoy's defaults: 1 retry, 1 s base, 10 s max; max_interval defaults to 10 × base", () => {
  const retryPolicy = "                        retry_policy:\n                          # Three more attempts, each after a random delay below 0.5s, 1s, 2s.\n                          num_retries: 3\n                          retry_back_off:\n                            base_interval: 0.5s\n                            max_interval: 2s\n";
  const none = remoteCodeOf(loadText(mutate(retryPolicy, "", remoteYaml)));
  assert.deepEqual([none?.kind === "remote" && none.numRetries, none?.kind === "remote" && none.backoffBaseMs, none?.kind === "remote" && none.backoffMaxMs], [1, 1000, 10000]);
  const noMax = remoteCodeOf(loadText(mutate("                            max_interval: 2s\n", "", remoteYaml)));
  assert.equal(noMax?.kind === "remote" && noMax.backoffMaxMs, 5000);
});

test("code.remote: a max_interval below base_interval is refused with Envoy's message; other retry settings by name", () => {
  assert.equal(
    loadError(mutate("max_interval: 2s", "max_interval: 0.1s", remoteYaml)),
    `envoy.yaml:${lineOf("max_interval: 2s", remoteYaml)}: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.config.vm_config.code.remote.retry_policy.retry_back_off.max_interval: max_interval must be greater than or equal to the base_interval`,
  );
  assert.match(
    loadError(mutate("num_retries: 3", "num_retries: 3\n                          retry_on: 5xx", remoteYaml)),
    /code\.remote\.retry_policy\.retry_on: retry_on is not supported by the local host/,
  );
});

const guardYaml = fs.readFileSync("examples/tcp_guard/envoy.yaml", "utf8");

test("examples/tcp_guard/envoy.yaml: tcp_guard ahead of tcp_proxy, and the proxy_protocol listener filter on the upstream listener", () => {
  const config = loadEnvoyConfig("examples/tcp_guard/envoy.yaml");
  const [main, upstream] = config.listeners;
  const guard = main!.filters[0]!;
  assert.deepEqual(guard.kind === "wasm" && [guard.rootId, guard.code, guard.configuration], [
    "tcp_guard",
    { kind: "local", filename: "/etc/envoy/plugin/tcp_guard.wasm" },
    '{"deny_sources": [], "max_downstream_bytes": 1048576, "proxy_protocol": true}',
  ]);
  assert.deepEqual(main!.listenerFilters, []);
  assert.deepEqual(
    [upstream!.listenerFilters, upstream!.listenerFiltersTimeoutMs, upstream!.continueOnListenerFiltersTimeout],
    [
      [{ kind: "proxy_protocol", filterName: "envoy.filters.listener.proxy_protocol", allowRequestsWithoutProxyProtocol: false, disallowedVersions: [], statPrefix: "" }],
      15_000,
      false,
    ],
  );
});

test("listener filter settings: the timeout, continuing on it, the proxy_protocol options", () => {
  const yamlText = guardYaml
    .replace("      listener_filters:\n", "      listener_filters_timeout: 0.5s\n      continue_on_listener_filters_timeout: true\n      listener_filters:\n")
    .replace(
      "ProxyProtocol\n",
      "ProxyProtocol\n            allow_requests_without_proxy_protocol: true\n            disallowed_versions: [V2]\n            stat_prefix: edge\n",
    );
  const upstream = loadText(yamlText).listeners[1]!;
  assert.deepEqual([upstream.listenerFiltersTimeoutMs, upstream.continueOnListenerFiltersTimeout], [500, true]);
  assert.deepEqual(upstream.listenerFilters[0], {
    kind: "proxy_protocol",
    filterName: "envoy.filters.listener.proxy_protocol",
    allowRequestsWithoutProxyProtocol: true,
    disallowedVersions: ["V2"],
    statPrefix: "edge",
  });
  assert.equal(loadText(yamlText.replace("0.5s", "0s")).listeners[1]!.listenerFiltersTimeoutMs, 0);
});

test("another listener filter, and proxy_protocol's TLV settings, are refused by name", () => {
  const tls = guardYaml.replace("listener.proxy_protocol.v3.ProxyProtocol", "listener.tls_inspector.v3.TlsInspector");
  assert.equal(
    loadError(tls),
    `envoy.yaml:${lineOf("TlsInspector", tls)}: static_resources.listeners[1].listener_filters[0].typed_config.@type: listener filter envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector is not supported by the local host; run it in Envoy with docker-compose up`,
  );
  const rules = guardYaml.replace("ProxyProtocol\n", "ProxyProtocol\n            rules:\n              - tlv_type: 1\n                on_tlv_present: {key: alpn}\n");
  assert.equal(
    loadError(rules),
    `envoy.yaml:${lineOf("rules:", rules)}: static_resources.listeners[1].listener_filters[0].typed_config.rules: rules is not supported by the local host; run it in Envoy with docker-compose up`,
  );
});

test("a proxy_protocol filter that disallows every version is refused with Envoy's message", () => {
  const yamlText = guardYaml.replace("ProxyProtocol\n", "ProxyProtocol\n            disallowed_versions: [V1, V2]\n");
  assert.equal(
    loadError(yamlText),
    `envoy.yaml:${lineOf("disallowed_versions", yamlText)}: static_resources.listeners[1].listener_filters[0].typed_config.disallowed_versions: Proxy Protocol filter is misconfigured: all proxy protocol versions are disallowed.`,
  );
});
