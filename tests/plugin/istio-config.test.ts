// The release build/main.wasm configured as Istio configures it (docs/envoy-host.md §11): root id
// = pluginName, plugin name = <namespace>.<name>, no vm id, and pluginConfig as the JSON string
// istiod renders from a protobuf Struct: keys sorted, no spaces, numbers as doubles, strings
// HTML-escaped.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { createLogger } from "../../host/log.ts";
import { createStatsStore } from "../../host/stats.ts";
import { PluginStartError, startWasmPlugin } from "../../host/wasm/api.ts";
import { ROOT } from "../helpers/e2e-paths.ts";
import { istioPluginConfigJson } from "../helpers/istio-plugin-config.ts";
import { bytes, pluginConfig, TestConnection } from "../helpers/wasm-host.ts";

const MAIN_WASM = `${ROOT}/build/main.wasm`;
const WASMPLUGIN = parse(readFileSync(`${ROOT}/deploy/istio/wasmplugin.yaml`, "utf8"));

/** The release plugin as Envoy gets it from Istio for deploy/istio/wasmplugin.yaml; its log goes to `lines`. */
function startAsIstio(configuration: string, lines: string[] = []) {
  const stats = createStatsStore();
  const plugin = startWasmPlugin({
    plugin: pluginConfig({
      name: `${WASMPLUGIN.metadata.namespace}.${WASMPLUGIN.metadata.name}`,
      rootId: WASMPLUGIN.spec.pluginName,
      vmId: "",
      configuration,
    }),
    wasmPath: MAIN_WASM,
    concurrency: 1,
    logger: createLogger({ level: "info", componentLevels: {}, write: (line) => lines.push(line) }),
    stats,
    propertyNames: "current",
  });
  return { plugin, lines, stats };
}

/** The message of the plugin's log lines, after `wasm log <name> <root id> <vm id>: `. */
function messages(lines: string[]): string[] {
  return lines.filter((line) => line.includes("] wasm log ")).map((line) => line.slice(line.indexOf(": ", line.indexOf("wasm log ")) + 2));
}

describe("Istio's rendering of pluginConfig", () => {
  it("is compact JSON with sorted keys, numbers as Go prints a double, strings HTML-escaped", () => {
    assert.equal(istioPluginConfigJson({ payload_preview_bytes: 256, metadata_namespace: "location" }), '{"metadata_namespace":"location","payload_preview_bytes":256}');
    assert.equal(istioPluginConfigJson({ n: 256.0 }), '{"n":256}');
    assert.equal(istioPluginConfigJson({ n: 0.5, big: 1e21, small: 1e-7, neg: -0 }), '{"big":1e+21,"n":0.5,"neg":-0,"small":1e-7}');
    assert.equal(istioPluginConfigJson({ s: "a<b>&c\u2028\n" }), '{"s":"a\\u003cb\\u003e\\u0026c\\u2028\\n"}');
  });
});

describe("the release plugin with Istio's JSON", () => {
  it("deploy/istio/wasmplugin.yaml: Istio sends exactly this string, and the plugin takes it", () => {
    const json = istioPluginConfigJson(WASMPLUGIN.spec.pluginConfig);
    assert.equal(json, '{"metadata_namespace":"location","payload_preview_bytes":256}');
    const { plugin, lines, stats } = startAsIstio(json);
    const configured = lines.filter((line) => line.includes("configured: "));
    assert.equal(configured.length, 3, "canary, main and worker VM");
    assert.ok(
      configured.every((line) => line.endsWith("] wasm log tcp_connection_logger: configured: metadata_namespace=location payload_preview_bytes=256")),
      configured.join("\n"),
    );
    const connection = new TestConnection(plugin);
    connection.filter.onNewConnection();
    connection.filter.onDownstreamData(bytes("hello"), false);
    connection.filter.onDownstreamClose("remote");
    assert.deepEqual(connection.events, ['to upstream "hello"']);
    // Connection lines name the plugin as Istio does, <namespace>.<name>; Istio sets no vm id.
    assert.ok(lines.some((line) => line.endsWith("] wasm log default.tcp-connection-logger tcp_connection_logger: connection 2: downstream data: 5 bytes: hello")), lines.join("\n"));
    assert.equal(stats.get("wasmcustom.connection_counter"), 1n);
    plugin.close();
  });

  it("takes a number written 256.0 or 2.56e2 in YAML: the Struct holds a double, Istio prints 256", () => {
    for (const written of ["256.0", "2.56e2"]) {
      const json = istioPluginConfigJson(parse(`payload_preview_bytes: ${written}`));
      assert.equal(json, '{"payload_preview_bytes":256}');
      const { plugin, lines } = startAsIstio(json);
      assert.ok(messages(lines).includes("configured: metadata_namespace=location payload_preview_bytes=256"));
      plugin.close();
    }
  });

  it("reads a namespace Istio escaped (\\u003c \\u003e \\u0026) as the characters themselves", () => {
    const json = istioPluginConfigJson({ metadata_namespace: "a<b>&c", payload_preview_bytes: 0 });
    assert.equal(json, '{"metadata_namespace":"a\\u003cb\\u003e\\u0026c","payload_preview_bytes":0}');
    const { plugin, lines } = startAsIstio(json);
    assert.ok(messages(lines).includes("configured: metadata_namespace=a<b>&c payload_preview_bytes=0"), lines.join("\n"));
    plugin.close();
  });

  it("an empty pluginConfig reaches the plugin as an empty configuration (an empty Any): the defaults", () => {
    const { plugin, lines } = startAsIstio("");
    assert.ok(messages(lines).includes("configured: metadata_namespace=location payload_preview_bytes=256"));
    plugin.close();
  });

  const refused: Array<[string, object, string, string]> = [
    ["a fraction", { payload_preview_bytes: 0.5 }, '{"payload_preview_bytes":0.5}', '"payload_preview_bytes" must be an integer from 0 to 65536'],
    ["a double Go prints with an exponent", { payload_preview_bytes: 1e21 }, '{"payload_preview_bytes":1e+21}', '"payload_preview_bytes" must be an integer from 0 to 65536'],
    ["a number written as a string", { payload_preview_bytes: "256" }, '{"payload_preview_bytes":"256"}', '"payload_preview_bytes" must be an integer from 0 to 65536'],
    ["a key of another plugin", { metadata_namespace: "location", unknown_key: true }, '{"metadata_namespace":"location","unknown_key":true}', 'unknown key "unknown_key"'],
  ];
  for (const [what, pluginConfig, expectedJson, error] of refused) {
    it(`refuses ${what}, naming the key: Envoy rejects the plugin`, () => {
      const json = istioPluginConfigJson(pluginConfig as never);
      assert.equal(json, expectedJson);
      const lines: string[] = [];
      assert.throws(() => startAsIstio(json, lines), PluginStartError);
      assert.deepEqual(messages(lines), [`invalid plugin configuration: ${error}`]);
    });
  }
});
