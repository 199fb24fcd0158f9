// The hardening fuzz test: the release build/main.wasm in the local host under random plugin
// configurations and thousands of random TCP connections (hostile bytes, random chunking up to
// 2 MiB, every close order Envoy produces, odd and malformed metadata under both property
// namings), many open at once on several VMs. Fixed seed by default; a failure names the seed
// and the connection's events: rerun with FUZZ_SEED=<seed> (and FUZZ_COUNT=<n>) to replay it.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import type { WasmFilterConfig } from "../../host/config/model.ts";
import { createStatsStore, type StatsStore } from "../../host/stats.ts";
import { PluginStartError, startWasmPlugin, type PropertyNames, type WasmPlugin } from "../../host/wasm/api.ts";
import { FuzzLogger, runTraffic, type Totals } from "../helpers/fuzz-connection.ts";
import { clusters, configuredLine, invalidConfiguration, PayloadSource, upstreamHosts, validConfiguration } from "../helpers/fuzz-inputs.ts";
import { fuzzSettings, Random } from "../helpers/fuzz-random.ts";
import { pluginConfig } from "../helpers/wat-filters.ts";

const WASM_PATH = new URL("../../build/main.wasm", import.meta.url).pathname;
const { seed, count } = fuzzSettings({ seed: 0x2b7e1516, count: 6_000 });
const SEED = `0x${seed.toString(16)}`;
/** Each session is one plugin: its connections are a warm-up, then twice as many to check memory. */
const SESSION_CONNECTIONS = 2000;
const CONFIGURATIONS = 500;

function fuzzPluginConfig(random: Random, configuration: string): WasmFilterConfig {
  return pluginConfig({
    // The plugin serves envoy.yaml's root id and the empty one.
    rootId: random.pick(["tcp_connection_logger", ""]),
    vmId: random.pick(["tcp_connection_logger", ""]),
    configuration,
  });
}

function start(plugin: WasmFilterConfig, logger: FuzzLogger, stats: StatsStore, propertyNames: PropertyNames, concurrency: number): WasmPlugin {
  return startWasmPlugin({ plugin, wasmPath: WASM_PATH, concurrency, logger, stats, propertyNames });
}

const memoryOf = (plugin: WasmPlugin) => plugin.diagnostics().map((vm) => `${vm.role}: ${vm.memoryBytes}`);

describe(`plugin fuzz, FUZZ_SEED=${SEED} FUZZ_COUNT=${count}`, { skip: existsSync(WASM_PATH) ? false : "build/main.wasm not built (make build)" }, () => {
  const root = new Random(seed);
  const configRandom = root.fork();
  const trafficRandom = root.fork();

  it(`starts with ${CONFIGURATIONS} valid configurations and refuses ${CONFIGURATIONS} invalid ones by name, never trapping`, () => {
    const random = configRandom;
    for (let i = 0; i < CONFIGURATIONS; i++) {
      const valid = validConfiguration(random);
      const logger = new FuzzLogger();
      const plugin = start(fuzzPluginConfig(random, valid.text), logger, createStatsStore(), "current", 1);
      const configured = configuredLine(valid);
      const context = `configuration ${JSON.stringify(valid.text)}`;
      assert.ok(logger.recent.includes(configured), `${context}: no line "${configured}" in ${JSON.stringify(logger.recent)}`);
      assert.deepEqual([...logger.errors, ...logger.unsafe], [], context);
      plugin.close();
    }
    for (let i = 0; i < CONFIGURATIONS; i++) {
      const invalid = invalidConfiguration(random);
      const logger = new FuzzLogger();
      const config = fuzzPluginConfig(random, invalid.text);
      const context = `configuration ${JSON.stringify(invalid.text)}`;
      // Refused by the plugin (configure returned 0), not by a trap.
      assert.throws(() => start(config, logger, createStatsStore(), "current", 1), (error) => {
        assert.ok(error instanceof PluginStartError, context);
        assert.equal(error.message, `Unable to create Wasm plugin ${config.name}: Wasm VM failed to start: on_configure returned 0`, context);
        return true;
      });
      // the plugin's line, then Envoy's from the canary
      assert.equal(logger.errors.length, 2, `${context}: ${JSON.stringify(logger.errors)}`);
      assert.equal(logger.errors[1], "[error][wasm] Wasm VM failed Failed to configure base Wasm plugin", context);
      const error = logger.errors[0].slice(logger.errors[0].indexOf(": ") + 2);
      if (invalid.malformed) assert.match(error, /^invalid plugin configuration: malformed JSON at byte \d+$/, context);
      else assert.equal(error, `invalid plugin configuration: ${invalid.error}`, context);
      assert.deepEqual(logger.unsafe, [], context);
    }
  });

  it(`plays ${count} random connections, many open at once, with exact counters and flat memory`, () => {
    const payloads = new PayloadSource(trafficRandom.fork());
    const sessions = Math.ceil(count / SESSION_CONNECTIONS);
    const perSession = Math.ceil(count / sessions);
    for (let session = 0; session < sessions; session++) {
      const random = trafficRandom.fork();
      const config = validConfiguration(random);
      const propertyNames = random.pick<PropertyNames>(["current", "legacy"]);
      const concurrency = random.int(1, 3);
      const maxOpen = random.pick([1, 8, 64, 256]);
      const context = `session ${session} (configuration ${JSON.stringify(config.text.slice(0, 100))}, ${propertyNames} names, ${concurrency} workers, up to ${maxOpen} open)`;
      const logger = new FuzzLogger();
      const stats = createStatsStore();
      const plugin = start(fuzzPluginConfig(random, config.text), logger, stats, propertyNames, concurrency);
      const totals: Totals = { completed: 0, downstreamBytes: 0, upstreamBytes: 0, forwardedDownstream: 0, forwardedUpstream: 0 };
      const traffic = {
        random,
        plugin,
        logger,
        payloads,
        clusters: clusters(random, config.namespace),
        hosts: upstreamHosts(random, config.namespace),
        previewBytes: config.previewBytes,
        totals,
      };
      const warmUp = Math.ceil(perSession / 3);
      try {
        runTraffic(traffic, warmUp, maxOpen);
        // Memory is flat if, once warm, twice the traffic of the same kind grows no VM's memory.
        const warm = memoryOf(plugin);
        runTraffic(traffic, perSession - warmUp, maxOpen);
        assert.deepEqual(memoryOf(plugin), warm, "memory grew after the warm-up");
      } catch (error) {
        throw new Error(`${context}, FUZZ_SEED=${SEED}: ${error instanceof Error ? error.message : error}`, { cause: error });
      }
      assert.deepEqual(plugin.diagnostics().filter((vm) => vm.failed).map((vm) => vm.role), [], context);
      assert.deepEqual([...logger.errors, ...logger.unsafe], [], context);
      assert.equal(plugin.activeConnections, 0, context);
      assert.deepEqual(
        {
          connection_counter: stats.get("wasmcustom.connection_counter"),
          connection_active: stats.get("wasmcustom.connection_active"),
          connection_downstream_bytes: stats.get("wasmcustom.connection_downstream_bytes"),
          connection_upstream_bytes: stats.get("wasmcustom.connection_upstream_bytes"),
        },
        {
          connection_counter: BigInt(totals.completed),
          connection_active: 0n,
          connection_downstream_bytes: BigInt(totals.downstreamBytes),
          connection_upstream_bytes: BigInt(totals.upstreamBytes),
        },
        context,
      );
      assert.equal(totals.completed, perSession, context);
      // The plugin always continues: everything reaches the other side.
      assert.deepEqual([totals.forwardedDownstream, totals.forwardedUpstream], [totals.downstreamBytes, totals.upstreamBytes], context);
      plugin.close();
    }
  });
});
