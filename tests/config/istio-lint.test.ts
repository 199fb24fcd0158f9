// scripts/lint-istio.ts on deploy/istio/wasmplugin.yaml: the shipped resource passes; each kind of
// mistake is one line naming the file, the line and the field, and exit 1.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { formatIssue } from "../../host/config/issues.ts";
import { envoyWasmPlugin, Linter } from "../../scripts/lint-istio.ts";

const WASMPLUGIN = "deploy/istio/wasmplugin.yaml";
const SHIPPED = readFileSync(WASMPLUGIN, "utf8");

function lintIstio(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/lint-istio.ts", ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("scripts/lint-istio.ts", () => {
  /**
   * The shipped resource with one text replacement, linted in this process as the command lints a
   * file (its exit status: 1 with issues), and its lines as the command prints them.
   */
  const envoyPlugin = envoyWasmPlugin("envoy/envoy.yaml");
  function lintChanged(from: string | RegExp, to: string): { status: number | null; stdout: string } {
    const changed = SHIPPED.replace(from, to);
    assert.notEqual(changed, SHIPPED, `the replacement of ${from} changed nothing`);
    const linter = new Linter("wasmplugin.yaml", changed);
    linter.lint(envoyPlugin);
    return { status: linter.issues.length === 0 ? 0 : 1, stdout: linter.issues.map((issue) => `${formatIssue(issue)}\n`).join("") };
  }

  it("passes the shipped WasmPlugin and exits 0", () => {
    assert.deepEqual(lintIstio(), { status: 0, stdout: `${WASMPLUGIN}: OK\n`, stderr: "" });
  });

  const mistakes: Array<[string, string | RegExp, string, string]> = [
    ["a type the CRD does not have", "type: NETWORK", "type: TCP",
      "wasmplugin.yaml:18: spec.type: must be equal to one of the allowed values (UNSPECIFIED_PLUGIN_TYPE, HTTP, NETWORK)\n" +
      "wasmplugin.yaml:18: spec.type: must be NETWORK: the plugin is a network (L4) filter\n"],
    ["an HTTP plugin", "type: NETWORK", "type: HTTP", "wasmplugin.yaml:18: spec.type: must be NETWORK: the plugin is a network (L4) filter\n"],
    ["a misspelt field", "failStrategy:", "failStrategey:", 'wasmplugin.yaml:30: spec.failStrategey: unknown field "failStrategey" in WasmPlugin.spec\n'],
    ["a bad failStrategy", "failStrategy: FAIL_CLOSE", "failStrategy: FAIL_CLOSED", "wasmplugin.yaml:30: spec.failStrategy: must be equal to one of the allowed values (FAIL_CLOSE, FAIL_OPEN, FAIL_RELOAD)\n"],
    ["an http url", "url: oci://", "url: https://", "wasmplugin.yaml:19: spec.url: must be an oci:// image reference (make oci builds the image)\n"],
    ["another root id", "pluginName: tcp_connection_logger", "pluginName: tcp_logger", 'wasmplugin.yaml:22: spec.pluginName: must be the root id "tcp_connection_logger" (root_id in the Envoy config)\n'],
    ["a plugin config key Envoy's config does not have", "payload_preview_bytes: 256", "payload_preview: 256",
      'wasmplugin.yaml:25: spec.pluginConfig: missing key "payload_preview_bytes" of the Envoy config\'s plugin configuration\n' +
      'wasmplugin.yaml:27: spec.pluginConfig.payload_preview: key "payload_preview" is not in the Envoy config\'s plugin configuration\n'],
    ["another value", "payload_preview_bytes: 256", 'payload_preview_bytes: "256"', 'wasmplugin.yaml:27: spec.pluginConfig.payload_preview_bytes: "256" differs from the Envoy config\'s 256\n'],
    ["no url", /^  url: .*\n/m, "", "wasmplugin.yaml:10: spec: must have required property url\nwasmplugin.yaml:10: spec.url: must be an oci:// image reference (make oci builds the image)\n"],
    ["another kind", "kind: WasmPlugin", "kind: EnvoyFilter", "wasmplugin.yaml:6: kind: must be WasmPlugin\n"],
    ["broken YAML", "  selector:", "  selector: *nothing", "wasmplugin.yaml:13: (top level): invalid YAML: All mapping items must start at the same column\n"],
  ];
  for (const [what, from, to, expected] of mistakes) {
    it(`refuses ${what}`, () => {
      assert.deepEqual(lintChanged(from, to), { status: 1, stdout: expected });
    });
  }

  it("an unreadable file exits 2 with one line", () => {
    const result = lintIstio("no/such.yaml");
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^ENOENT: no such file or directory, open 'no\/such\.yaml'\n$/);
  });
});
