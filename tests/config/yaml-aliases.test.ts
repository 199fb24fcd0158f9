// YAML anchors and aliases are read as any YAML parser reads them, to the anchored node, with line
// numbers still in errors; a merge key `<<` stays an ordinary (unknown) key, as in Envoy's
// yaml-cpp; a document whose aliases expand without bound is one error, not a hang.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError, loadEnvoyConfig } from "../../host/config/load.ts";
import { formatIssue } from "../../host/config/issues.ts";
import { validateEnvoyConfig } from "../../host/config/validate.ts";
import { envoyYaml, lineOf, mutate, ENVOY_YAML_PATH } from "./mutate.ts";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "envoy-aliases-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

function load(yamlText: string) {
  const file = path.join(scratch, "envoy.yaml");
  fs.writeFileSync(file, yamlText);
  return loadEnvoyConfig(file);
}

function issuesOf(yamlText: string): string[] {
  return validateEnvoyConfig(yamlText, ENVOY_YAML_PATH).map(formatIssue);
}

/** envoy.yaml with the staticreply listener's port anchored and the cluster endpoint's port an alias of it. */
function withPortAlias(): string {
  const anchored = mutate("port_value: 8099\n      filter_chains", "port_value: &static_port 8099\n      filter_chains");
  return mutate("                      port_value: 8099", "                      port_value: *static_port", anchored);
}

test("a scalar alias is the anchored value: a port", () => {
  const config = load(withPortAlias());
  assert.equal(config.listeners[1]!.address.port, 8099);
  assert.deepEqual(config.clusters[0]!.endpoints[0]!.address, { address: "127.0.0.1", port: 8099 });
});

test("an alias inside cluster metadata is the anchored mapping, not a reference to it", () => {
  const yamlText = mutate(
    "          location:\n",
    "          location: &location\n",
  ).replace("            az: ap-northeast-1a\n", "            az: ap-northeast-1a\n          copy: *location\n");
  const metadata = load(yamlText).clusters[0]!.metadata.filterMetadata;
  const location = { cloud_provider: "aws", region: "ap-northeast-1", az: "ap-northeast-1a" };
  assert.deepEqual(metadata, { location, copy: location });
});

test("an error inside an anchored node names the line where it is, at each place it is used", () => {
  const anchored = mutate(
    "      address:\n        socket_address:\n          address: 127.0.0.1\n          port_value: 8099\n",
    "      address: &static_address\n        socket_address:\n          address: 127.0.0.1\n          port_value: eighty\n",
  );
  const yamlText = mutate(
    "                  address:\n                    socket_address:\n                      address: 127.0.0.1\n                      port_value: 8099\n",
    "                  address: *static_address\n",
    anchored,
  );
  const line = lineOf("port_value: eighty", yamlText);
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${line}: static_resources.listeners[1].address.socket_address.port_value: expected an integer (uint32), got "eighty"`,
    `envoy/envoy.yaml:${line}: static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: expected an integer (uint32), got "eighty"`,
  ]);
});

test("a merge key << is an ordinary key, so an unknown field, as in Envoy", () => {
  const anchored = mutate("      connect_timeout: 0.25s\n", "      connect_timeout: 0.25s\n      <<: {lb_policy: ROUND_ROBIN}\n");
  assert.deepEqual(issuesOf(anchored), [
    `envoy/envoy.yaml:${lineOf("<<:", anchored)}: static_resources.clusters[0].<<: unknown field "<<" in envoy.config.cluster.v3.Cluster`,
  ]);
});

/** The least time `run` takes over `rounds` runs: load on the machine only ever adds time. */
function leastMillis(run: () => void, rounds: number): number {
  let least = Infinity;
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    run();
    least = Math.min(least, performance.now() - started);
  }
  return least;
}

test("aliases that expand without bound are one error, found about as fast as the file without them is checked", () => {
  const levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 12; i++) levels.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]`);
  const yamlText = mutate(
    "            az: ap-northeast-1a\n",
    `            az: ap-northeast-1a\n          bomb: {${levels.join(", ")}}\n`,
  );
  const issues = issuesOf(yamlText);
  // Compared with the shipped file checked in the same run, not with a fixed time: expanded, the
  // aliases would be 10^12 nodes; refused early, they cost a few times the plain file.
  const plainMillis = leastMillis(() => issuesOf(envoyYaml), 3);
  const bombMillis = leastMillis(() => issuesOf(yamlText), 3);
  assert.ok(bombMillis <= 100 * plainMillis, `${bombMillis.toFixed(1)} ms with the aliases, ${plainMillis.toFixed(1)} ms without`);
  assert.equal(issues.length, 1);
  assert.match(issues[0]!, /^envoy\/envoy\.yaml:\d+: static_resources\.clusters\[0\]\.metadata\.filter_metadata\.bomb: Excessive alias count/);
  assert.throws(() => load(yamlText), ConfigError);
});

test("an alias with no anchor before it names itself and its line", () => {
  const yamlText = mutate("port_value: 8001", "port_value: *admin_port");
  assert.deepEqual(issuesOf(yamlText), [
    `envoy/envoy.yaml:${lineOf("*admin_port", yamlText)}: (top level): alias *admin_port names no anchor defined before it`,
  ]);
});
