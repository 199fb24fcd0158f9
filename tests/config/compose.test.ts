// docker-compose.yml agrees with envoy/envoy.yaml and every examples/*/envoy.yaml: mounts, config path, ports,
// health check.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { loadEnvoyConfig } from "../../host/config/load.ts";

const composeText = fs.readFileSync("docker-compose.yml", "utf8");
const compose = parse(composeText) as { version?: unknown; services: Record<string, Record<string, unknown>> };
const envoy = compose.services.envoy!;
const config = loadEnvoyConfig("envoy/envoy.yaml");

/** `${VAR:-default}` replaced by its default, as compose does with VAR unset; or by `values[VAR]`. */
function withDefaults(text: string, values: Record<string, string> = {}): string {
  return text.replace(/\$\{([A-Z_]+):-([^}]*)\}/g, (_, name: string, fallback: string) => values[name] ?? fallback);
}

test("the compose file has no top-level version and one envoy service", () => {
  assert.equal(compose.version, undefined);
  assert.deepEqual(Object.keys(compose.services), ["envoy"]);
  assert.equal(withDefaults(String(envoy.image)), "envoyproxy/envoy:v1.39-latest");
});

test("every ${VAR} has a default", () => {
  const variables = [...composeText.matchAll(/\$\{([^}]*)\}/g)].map((match) => match[1]!);
  assert.deepEqual(variables.filter((variable) => !/^[A-Z_]+:-.+$/.test(variable)), []);
  assert.deepEqual(variables.map((variable) => variable.split(":-")[0]).sort(), ["ENVOY_CONCURRENCY", "ENVOY_CONFIG", "ENVOY_IMAGE", "FOLDER_PLUGIN", "WASM_LOG_LEVEL"]);
});

test("the config is mounted where -c points, the plugin folder where vm_config.code.local.filename points", () => {
  const volumes = (envoy.volumes as string[]).map((volume) => withDefaults(volume).split(":"));
  const command = withDefaults(String(envoy.command)).split(/\s+/);
  const configPath = command[command.indexOf("-c") + 1];
  assert.deepEqual(volumes.find(([source]) => source === "./envoy/envoy.yaml"), ["./envoy/envoy.yaml", configPath, "ro"]);
  const wasm = config.listeners[0]!.filters[0]!;
  assert.equal(wasm.kind, "wasm");
  const pluginDir = path.posix.dirname(wasm.kind === "wasm" && wasm.code.kind === "local" ? wasm.code.filename : "");
  assert.deepEqual(volumes.find(([source]) => source === "./build"), ["./build", pluginDir, "ro"]);
  assert.deepEqual(command, ["-c", "/etc/envoy/envoy.yaml", "--concurrency", "1", "--component-log-level", "wasm:info"]);
});

test("the published ports are listener main and admin, on the same numbers", () => {
  const main = config.listeners.find((listener) => listener.name === "main")!;
  assert.deepEqual(envoy.ports, [`${main.address.port}:${main.address.port}`, `${config.admin.address.port}:${config.admin.address.port}`]);
});

test("the health check asks admin /ready over bash /dev/tcp", () => {
  const check = (envoy.healthcheck as { test: string[] }).test;
  assert.deepEqual(check.slice(0, 3), ["CMD", "bash", "-c"]);
  assert.ok(check[3]!.includes(`/dev/tcp/127.0.0.1/${config.admin.address.port} `), check[3]);
  assert.ok(check[3]!.includes("GET /ready HTTP/1.0"), check[3]);
  assert.ok(check[3]!.includes("grep -q LIVE"), check[3]);
});

const EXAMPLE_CONFIGS = fs.readdirSync("examples").map((name) => `examples/${name}/envoy.yaml`).filter((file) => fs.existsSync(file));

for (const configFile of ["envoy/envoy.yaml", ...EXAMPLE_CONFIGS]) {
  test(`ENVOY_CONFIG=${configFile}: mounted where -c points, its plugin in the plugin folder, its ports published`, () => {
    const chosen = loadEnvoyConfig(configFile);
    const volumes = (envoy.volumes as string[]).map((volume) => withDefaults(volume, { ENVOY_CONFIG: configFile }).split(":"));
    const command = withDefaults(String(envoy.command)).split(/\s+/);
    assert.deepEqual(volumes[0], [`./${configFile}`, command[command.indexOf("-c") + 1], "ro"]);
    const pluginMount = volumes.find(([source]) => source === "./build")![1];
    for (const listener of chosen.listeners) {
      for (const filter of listener.filters) {
        if (filter.kind === "wasm" && filter.code.kind === "local") assert.equal(path.posix.dirname(filter.code.filename), pluginMount);
      }
    }
    const main = chosen.listeners.find((listener) => listener.name === "main")!;
    assert.deepEqual(envoy.ports, [`${main.address.port}:${main.address.port}`, `${chosen.admin.address.port}:${chosen.admin.address.port}`]);
  });
}
