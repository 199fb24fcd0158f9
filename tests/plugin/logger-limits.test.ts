// The release build/main.wasm against what repeats and what is large: the warning about a
// cluster without its metadata, rate-limited per cluster (1st, 2nd, 4th, 8th... connection, the
// number suppressed said in the next), metadata that appears later, and metadata keys, values and
// namespaces shown within metadata_preview_bytes; the configuration's bounds on both.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonValue } from "../../host/config/model.ts";
import type { Logger } from "../../host/log.ts";
import type { LogLevelName } from "../../host/loggers.ts";
import { createStatsStore } from "../../host/stats.ts";
import {
  PluginStartError, startWasmPlugin, type ClusterInfo, type ConnectionInfo, type FilterCallbacks, type TraceEvent, type WasmPlugin,
} from "../../host/wasm/api.ts";
import { pluginConfig } from "../helpers/wasm-host.ts";

const WASM_PATH = new URL("../../build/main.wasm", import.meta.url).pathname;
const LEVELS: LogLevelName[] = ["trace", "debug", "info", "warn", "error", "critical", "off"];

const CLIENT: ConnectionInfo = {
  source: { address: "127.0.0.1", port: 51234 },
  destination: { address: "127.0.0.1", port: 18000 },
  listenerName: "main",
};
const HOST = { address: { address: "127.0.0.1", port: 8099 }, metadata: {} };
const LOCATION = { cloud_provider: "aws", region: "ap-northeast-1", az: "ap-northeast-1a" };

function cluster(name: string, location?: JsonValue): ClusterInfo {
  return { name, metadata: location === undefined ? {} : { filter_metadata: { location } } };
}

/** `<level> <message>` of each wasm log line, `connection <id>: ` left out; the level can change. */
class Lines implements Logger {
  lines: string[] = [];
  level: LogLevelName = "info";
  enabled(_component: string, level: LogLevelName): boolean {
    return level !== "off" && LEVELS.indexOf(level) >= LEVELS.indexOf(this.level);
  }
  log(component: string, level: LogLevelName, _source: string, message: string): void {
    if (component !== "wasm" || !message.startsWith("wasm log") || !this.enabled(component, level)) return;
    this.lines.push(`${level} ${message.slice(message.indexOf(": ") + 2).replace(/^connection \d+: /, "")}`);
  }
  /** the lines since the last call */
  take(): string[] {
    const taken = this.lines;
    this.lines = [];
    return taken;
  }
}

const passing: FilterCallbacks = { forwardDownstream() {}, forwardUpstream() {}, closeDownstream() {} };

interface Logged {
  plugin: WasmPlugin;
  logger: Lines;
  trace: TraceEvent[];
}

function start(level: LogLevelName, configuration = ""): Logged {
  const logger = new Lines();
  logger.level = level;
  const trace: TraceEvent[] = [];
  const plugin = startWasmPlugin({
    plugin: pluginConfig({ configuration }),
    wasmPath: WASM_PATH,
    concurrency: 1,
    logger,
    stats: createStatsStore(),
    propertyNames: "current",
    trace: (event) => trace.push(event),
  });
  logger.take();
  trace.length = 0;
  return { plugin, logger, trace };
}

/** One connection to `upstream`: a byte each way, then the closes. */
function connect(plugin: WasmPlugin, upstream: ClusterInfo): void {
  const filter = plugin.createFilter(CLIENT, passing);
  filter.onNewConnection();
  filter.onClusterSelected(upstream);
  filter.onUpstreamConnected(HOST);
  filter.onDownstreamData(Buffer.from("x"), false);
  filter.onUpstreamData(Buffer.from("y"), false);
  filter.onDownstreamClose("remote");
}

/** The paths of the properties read since the last call, in order. */
function propertiesRead(logged: Logged): string[] {
  const read = logged.trace.flatMap((event) => (event.kind === "host" && event.name === "proxy_get_property" ? [String(event.meaning.path)] : []));
  logged.trace.length = 0;
  return read;
}

const MISSING = 'warn no upstream cluster metadata "location" for cluster "bare" (xds.cluster_metadata: NotFound)';

describe("release build/main.wasm: the missing-metadata warning, once per cluster and then every power of two", () => {
  it("at warning: warns on the 1st, 2nd, 4th, 8th, 16th connection, each saying how many were suppressed", () => {
    const logged = start("warn");
    const warned: string[] = [];
    for (let n = 1; n <= 20; n++) {
      connect(logged.plugin, cluster("bare"));
      for (const line of logged.logger.take()) warned.push(`${n}: ${line}`);
    }
    assert.deepEqual(warned, [
      `1: ${MISSING}`,
      `2: ${MISSING}`,
      `4: ${MISSING}; 1 suppressed since the last`,
      `8: ${MISSING}; 3 suppressed since the last`,
      `16: ${MISSING}; 7 suppressed since the last`,
    ]);
    logged.plugin.close();
  });

  it("at warning: reads the cluster's name on every connection, its metadata only when a warning is due", () => {
    const logged = start("warn");
    const reads: string[][] = [];
    for (let n = 1; n <= 5; n++) {
      connect(logged.plugin, cluster("bare"));
      reads.push(propertiesRead(logged));
    }
    const name = "xds.cluster_name";
    const metadata = "xds.cluster_metadata.filter_metadata.location";
    // xds.cluster_name answered: the legacy names are not tried.
    assert.deepEqual(reads, [
      [name, metadata],
      [name, metadata],
      [name],
      [name, metadata],
      [name],
    ]);
    logged.plugin.close();
  });

  it("counts each cluster on its own", () => {
    const logged = start("warn");
    for (let n = 1; n <= 3; n++) {
      connect(logged.plugin, cluster("bare"));
      connect(logged.plugin, cluster("other"));
      connect(logged.plugin, cluster("web_service", LOCATION));
    }
    assert.deepEqual(logged.logger.take().map((line) => line.replace(/ \(.*\)$/, "")), [
      'warn no upstream cluster metadata "location" for cluster "bare"',
      'warn no upstream cluster metadata "location" for cluster "other"',
      'warn no upstream cluster metadata "location" for cluster "bare"',
      'warn no upstream cluster metadata "location" for cluster "other"',
    ]);
    logged.plugin.close();
  });

  it("at info: the same rule, and the cluster's name is read only while some cluster lacks its metadata", () => {
    const logged = start("info");
    connect(logged.plugin, cluster("web_service", LOCATION));
    assert.ok(!propertiesRead(logged).includes("xds.cluster_name"));
    const warnings: string[] = [];
    for (let n = 1; n <= 8; n++) {
      connect(logged.plugin, cluster("bare"));
      for (const line of logged.logger.take()) if (line.startsWith("warn")) warnings.push(`${n}: ${line}`);
    }
    assert.deepEqual(warnings, [
      `1: ${MISSING}`,
      `2: ${MISSING}`,
      `4: ${MISSING}; 1 suppressed since the last`,
      `8: ${MISSING}; 3 suppressed since the last`,
    ]);
    propertiesRead(logged);
    connect(logged.plugin, cluster("web_service", LOCATION));
    assert.ok(propertiesRead(logged).includes("xds.cluster_name"));
    logged.plugin.close();
  });

  it("at warning: notices metadata that appears later at the next point a warning would be due, and stops warning", () => {
    const logged = start("warn");
    connect(logged.plugin, cluster("late"));
    connect(logged.plugin, cluster("late"));
    assert.equal(logged.logger.take().length, 2);
    // An xDS update gives the cluster its metadata. Connection 3 is not a point where a warning
    // is due: nothing is read. Connection 4 is: the metadata is read again, found, and not a word.
    propertiesRead(logged);
    connect(logged.plugin, cluster("late", LOCATION));
    assert.deepEqual(propertiesRead(logged), ["xds.cluster_name"]);
    connect(logged.plugin, cluster("late", LOCATION));
    assert.deepEqual(propertiesRead(logged), ["xds.cluster_name", "xds.cluster_metadata.filter_metadata.location"]);
    for (let n = 5; n <= 40; n++) connect(logged.plugin, cluster("late", LOCATION));
    assert.deepEqual(logged.logger.take(), []);
    assert.deepEqual([...new Set(propertiesRead(logged))], ["xds.cluster_name"]);
    // A cluster found to have its metadata is not read again at warning: should it lose it, that
    // shows at info (next test), not here.
    connect(logged.plugin, cluster("late"));
    assert.deepEqual(logged.logger.take(), []);
    assert.deepEqual(propertiesRead(logged), ["xds.cluster_name"]);
    logged.plugin.close();
  });

  it("at info: shows metadata that appears later on the next connection, and warns afresh if it goes again", () => {
    const logged = start("info");
    for (let n = 1; n <= 3; n++) connect(logged.plugin, cluster("late"));
    assert.equal(logged.logger.take().filter((line) => line.startsWith("warn")).length, 2);
    connect(logged.plugin, cluster("late", LOCATION));
    assert.ok(logged.logger.take().includes("info upstream cluster metadata location.region: ap-northeast-1"));
    connect(logged.plugin, cluster("late"));
    assert.deepEqual(logged.logger.take().filter((line) => line.startsWith("warn")), [
      'warn no upstream cluster metadata "location" for cluster "late" (xds.cluster_metadata: NotFound)',
    ]);
    logged.plugin.close();
  });

  it("rate-limits malformed metadata the same way", () => {
    const logged = start("warn");
    for (let n = 1; n <= 4; n++) connect(logged.plugin, cluster("odd", "not a map"));
    assert.deepEqual(logged.logger.take(), [
      'warn malformed cluster metadata "location" for cluster "odd": 544501614 entries do not fit in 9 bytes',
      'warn malformed cluster metadata "location" for cluster "odd": 544501614 entries do not fit in 9 bytes',
      'warn malformed cluster metadata "location" for cluster "odd": 544501614 entries do not fit in 9 bytes; 1 suppressed since the last',
    ]);
    logged.plugin.close();
  });

  it("remembers at most 1,024 clusters per VM: past that it forgets them all and warns afresh", () => {
    const logged = start("warn");
    const warnedFor = (name: string) => logged.logger.take().filter((line) => line.includes(`for cluster "${name}"`)).length;
    connect(logged.plugin, cluster("first"));
    connect(logged.plugin, cluster("first"));
    connect(logged.plugin, cluster("first"));
    assert.equal(warnedFor("first"), 2); // the 3rd is suppressed
    for (let n = 1; n < 1024; n++) connect(logged.plugin, cluster(`c${n}`));
    connect(logged.plugin, cluster("first"));
    assert.equal(warnedFor("first"), 1); // the 4th: due anyway
    connect(logged.plugin, cluster("c1024")); // the 1,025th cluster: all forgotten
    connect(logged.plugin, cluster("first"));
    assert.equal(warnedFor("first"), 1); // its 5th connection, but a first warning again
    logged.plugin.close();
  });

  it("with logging off or at error, reads nothing to warn with and counts nothing", () => {
    const logged = start("error");
    for (let n = 1; n <= 3; n++) connect(logged.plugin, cluster("bare"));
    assert.deepEqual(propertiesRead(logged), []);
    logged.logger.level = "warn";
    connect(logged.plugin, cluster("bare"));
    // The first connection seen at warning is the first warning.
    assert.deepEqual(logged.logger.take(), [MISSING]);
    logged.plugin.close();
  });
});

describe("release build/main.wasm: metadata shown within metadata_preview_bytes", () => {
  /** The metadata lines of one connection to a cluster with `location` as its namespace's value. */
  function metadataLines(configuration: string, location: JsonValue, namespace = "location"): string[] {
    const logged = start("info", configuration);
    connect(logged.plugin, { name: "web_service", metadata: { filter_metadata: { [namespace]: location } } });
    logged.plugin.close();
    return logged.logger.take().filter((line) => line.includes(" metadata "));
  }

  it("cuts a long value, key or namespace at 256 bytes by default, escaped, saying how much is left out", () => {
    const lines = metadataLines("", { ["k".repeat(300)]: "v".repeat(1000), az: "a\nb" });
    assert.deepEqual(lines, [
      "info upstream cluster metadata location.az: a\\nb",
      `info upstream cluster metadata location.${"k".repeat(256)} ... (+44 bytes): ${"v".repeat(256)} ... (+744 bytes)`,
    ]);
    const namespace = "n".repeat(300);
    assert.deepEqual(metadataLines(`{"metadata_namespace": "${namespace}"}`, { az: "x" }, namespace), [
      `info upstream cluster metadata ${"n".repeat(256)} ... (+44 bytes).az: x`,
    ]);
  });

  it("shares the budget among the strings of a nested value", () => {
    const lines = metadataLines('{"metadata_preview_bytes": 8}', { zone: { name: "ap-northeast-1a", ids: ["1", "2"] }, az: "ap-northeast-1a" });
    assert.deepEqual(lines, [
      "info upstream cluster metadata location.az: ap-north ... (+7 bytes)",
      // "name" and "ap-n": 8 bytes; the rest of the name (11), "ids", "1" and "2" (5): 16 left out
      "info upstream cluster metadata location.zone: {name: ap-n ... (+16 bytes)",
    ]);
  });

  it("logs a few hundred bytes for a 4 MiB value, however many connections", () => {
    const logged = start("info");
    const big = cluster("web_service", { blob: "x".repeat(4 * 1024 * 1024) });
    for (let n = 0; n < 3; n++) connect(logged.plugin, big);
    const lines = logged.logger.take().filter((line) => line.includes(" metadata "));
    assert.deepEqual(lines, Array(3).fill(`info upstream cluster metadata location.blob: ${"x".repeat(256)} ... (+4194048 bytes)`));
    logged.plugin.close();
  });

  it("says so in the configured line when it is not the default", () => {
    const logger = new Lines();
    startWasmPlugin({
      plugin: pluginConfig({ configuration: '{"metadata_preview_bytes": 64}' }), wasmPath: WASM_PATH, concurrency: 1, logger, stats: createStatsStore(), propertyNames: "current",
    }).close();
    assert.ok(logger.lines.includes("info configured: metadata_namespace=location payload_preview_bytes=256 metadata_preview_bytes=64"));
  });
});

describe("release build/main.wasm: refuses a bad metadata_preview_bytes or metadata_namespace with one error line", () => {
  const cases: Array<[string, string]> = [
    ['{"metadata_preview_bytes": 0}', '"metadata_preview_bytes" must be an integer from 1 to 65536'],
    ['{"metadata_preview_bytes": 65537}', '"metadata_preview_bytes" must be an integer from 1 to 65536'],
    ['{"metadata_preview_bytes": "64"}', '"metadata_preview_bytes" must be an integer from 1 to 65536'],
    ['{"metadata_namespace": "\\ud800"}', '"metadata_namespace" must be valid Unicode: it holds \\ud800, half of a surrogate pair'],
    ['{"metadata_namespace": "loc\\udfffation"}', '"metadata_namespace" must be valid Unicode: it holds \\udfff, half of a surrogate pair'],
  ];
  for (const [configuration, error] of cases) {
    it(configuration, () => {
      const logger = new Lines();
      assert.throws(
        () => startWasmPlugin({ plugin: pluginConfig({ configuration }), wasmPath: WASM_PATH, concurrency: 1, logger, stats: createStatsStore(), propertyNames: "current" }),
        PluginStartError,
      );
      assert.deepEqual(logger.lines, [`error invalid plugin configuration: ${error}`]);
    });
  }
});
