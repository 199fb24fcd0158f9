// The release build/main.wasm against what repeats and what is large: the warning about a
// cluster without its metadata, rate-limited per cluster (1st, 2nd, 4th, 8th... connection, the
// number suppressed said in the next), metadata that appears later, and metadata keys, values and
// namespaces shown within metadata_preview_bytes; the configuration's bounds on both.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonValue } from "../../host/config/model.ts";
import type { LogLevelName } from "../../host/loggers.ts";
import { FilterStartError, startFilter, type ClusterInfo, type FilterUnderTest } from "../../host/testing/index.ts";

const WASM_PATH = new URL("../../build/main.wasm", import.meta.url).pathname;

const CLIENT = {
  source: { address: "127.0.0.1", port: 51234 },
  destination: { address: "127.0.0.1", port: 18000 },
  listenerName: "main",
};
const HOST = { address: { address: "127.0.0.1", port: 8099 }, metadata: {} };
const LOCATION = { cloud_provider: "aws", region: "ap-northeast-1", az: "ap-northeast-1a" };

function cluster(name: string, location?: JsonValue): ClusterInfo {
  return { name, metadata: location === undefined ? {} : { filter_metadata: { location } } };
}

/** The logger under test, and what it has logged and read since the last look. */
class Logged {
  private seen = 0;

  constructor(readonly filter: FilterUnderTest) {
    this.take();
    filter.trace.length = 0;
  }

  /** `<level> <message>` of each line the filter logged since the last call, `connection <id>: ` left out. */
  take(): string[] {
    const messages = this.filter.messages();
    const taken = messages.slice(this.seen).map((line) => line.replace(/^(\w+) connection \d+: /, "$1 "));
    this.seen = messages.length;
    return taken;
  }

  /** The paths of the properties read since the last call, in order. */
  propertiesRead(): string[] {
    const trace = this.filter.trace;
    const read = trace.flatMap((event) => (event.kind === "host" && event.name === "proxy_get_property" ? [String(event.meaning.path)] : []));
    trace.length = 0;
    return read;
  }

  /** One connection to `upstream`: a byte each way, then the closes. */
  connect(upstream: ClusterInfo): void {
    const connection = this.filter.accept(CLIENT);
    connection.newConnection();
    connection.clusterSelected(upstream);
    connection.upstreamConnected(HOST);
    connection.downstream("x");
    connection.upstream("y");
    connection.close("remote");
  }
}

function start(level: LogLevelName, configuration = ""): Logged {
  return new Logged(
    startFilter({ wasm: WASM_PATH, name: "tcp_connection_logger", rootId: "tcp_connection_logger", configuration, logLevel: level, trace: true }),
  );
}

const MISSING = 'warning no upstream cluster metadata "location" for cluster "bare" (xds.cluster_metadata: NotFound)';

describe("release build/main.wasm: the missing-metadata warning, once per cluster and then every power of two", () => {
  it("at warning: warns on the 1st, 2nd, 4th, 8th, 16th connection, each saying how many were suppressed", () => {
    const logged = start("warn");
    const warned: string[] = [];
    for (let n = 1; n <= 20; n++) {
      logged.connect(cluster("bare"));
      for (const line of logged.take()) warned.push(`${n}: ${line}`);
    }
    assert.deepEqual(warned, [
      `1: ${MISSING}`,
      `2: ${MISSING}`,
      `4: ${MISSING}; 1 suppressed since the last`,
      `8: ${MISSING}; 3 suppressed since the last`,
      `16: ${MISSING}; 7 suppressed since the last`,
    ]);
    logged.filter.close();
  });

  it("at warning: reads the cluster's name on every connection, its metadata only when a warning is due", () => {
    const logged = start("warn");
    const reads: string[][] = [];
    for (let n = 1; n <= 5; n++) {
      logged.connect(cluster("bare"));
      reads.push(logged.propertiesRead());
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
    logged.filter.close();
  });

  it("counts each cluster on its own", () => {
    const logged = start("warn");
    for (let n = 1; n <= 3; n++) {
      logged.connect(cluster("bare"));
      logged.connect(cluster("other"));
      logged.connect(cluster("web_service", LOCATION));
    }
    assert.deepEqual(logged.take().map((line) => line.replace(/ \(.*\)$/, "")), [
      'warning no upstream cluster metadata "location" for cluster "bare"',
      'warning no upstream cluster metadata "location" for cluster "other"',
      'warning no upstream cluster metadata "location" for cluster "bare"',
      'warning no upstream cluster metadata "location" for cluster "other"',
    ]);
    logged.filter.close();
  });

  it("at info: the same rule, and the cluster's name is read only while some cluster lacks its metadata", () => {
    const logged = start("info");
    logged.connect(cluster("web_service", LOCATION));
    assert.ok(!logged.propertiesRead().includes("xds.cluster_name"));
    const warnings: string[] = [];
    for (let n = 1; n <= 8; n++) {
      logged.connect(cluster("bare"));
      for (const line of logged.take()) if (line.startsWith("warn")) warnings.push(`${n}: ${line}`);
    }
    assert.deepEqual(warnings, [
      `1: ${MISSING}`,
      `2: ${MISSING}`,
      `4: ${MISSING}; 1 suppressed since the last`,
      `8: ${MISSING}; 3 suppressed since the last`,
    ]);
    logged.propertiesRead();
    logged.connect(cluster("web_service", LOCATION));
    assert.ok(logged.propertiesRead().includes("xds.cluster_name"));
    logged.filter.close();
  });

  it("at warning: notices metadata that appears later at the next point a warning would be due, and stops warning", () => {
    const logged = start("warn");
    logged.connect(cluster("late"));
    logged.connect(cluster("late"));
    assert.equal(logged.take().length, 2);
    // An xDS update gives the cluster its metadata. Connection 3 is not a point where a warning
    // is due: nothing is read. Connection 4 is: the metadata is read again, found, and not a word.
    logged.propertiesRead();
    logged.connect(cluster("late", LOCATION));
    assert.deepEqual(logged.propertiesRead(), ["xds.cluster_name"]);
    logged.connect(cluster("late", LOCATION));
    assert.deepEqual(logged.propertiesRead(), ["xds.cluster_name", "xds.cluster_metadata.filter_metadata.location"]);
    for (let n = 5; n <= 40; n++) logged.connect(cluster("late", LOCATION));
    assert.deepEqual(logged.take(), []);
    assert.deepEqual([...new Set(logged.propertiesRead())], ["xds.cluster_name"]);
    // A cluster found to have its metadata is not read again at warning: should it lose it, that
    // shows at info (next test), not here.
    logged.connect(cluster("late"));
    assert.deepEqual(logged.take(), []);
    assert.deepEqual(logged.propertiesRead(), ["xds.cluster_name"]);
    logged.filter.close();
  });

  it("at info: shows metadata that appears later on the next connection, and warns afresh if it goes again", () => {
    const logged = start("info");
    for (let n = 1; n <= 3; n++) logged.connect(cluster("late"));
    assert.equal(logged.take().filter((line) => line.startsWith("warn")).length, 2);
    logged.connect(cluster("late", LOCATION));
    assert.ok(logged.take().includes("info upstream cluster metadata location.region: ap-northeast-1"));
    logged.connect(cluster("late"));
    assert.deepEqual(logged.take().filter((line) => line.startsWith("warn")), [
      'warning no upstream cluster metadata "location" for cluster "late" (xds.cluster_metadata: NotFound)',
    ]);
    logged.filter.close();
  });

  it("rate-limits malformed metadata the same way", () => {
    const logged = start("warn");
    for (let n = 1; n <= 4; n++) logged.connect(cluster("odd", "not a map"));
    assert.deepEqual(logged.take(), [
      'warning malformed cluster metadata "location" for cluster "odd": 544501614 entries do not fit in 9 bytes',
      'warning malformed cluster metadata "location" for cluster "odd": 544501614 entries do not fit in 9 bytes',
      'warning malformed cluster metadata "location" for cluster "odd": 544501614 entries do not fit in 9 bytes; 1 suppressed since the last',
    ]);
    logged.filter.close();
  });

  it("remembers at most 1,024 clusters per VM: past that it forgets them all and warns afresh", () => {
    const logged = start("warn");
    const warnedFor = (name: string) => logged.take().filter((line) => line.includes(`for cluster "${name}"`)).length;
    logged.connect(cluster("first"));
    logged.connect(cluster("first"));
    logged.connect(cluster("first"));
    assert.equal(warnedFor("first"), 2); // the 3rd is suppressed
    for (let n = 1; n < 1024; n++) logged.connect(cluster(`c${n}`));
    logged.connect(cluster("first"));
    assert.equal(warnedFor("first"), 1); // the 4th: due anyway
    logged.connect(cluster("c1024")); // the 1,025th cluster: all forgotten
    logged.connect(cluster("first"));
    assert.equal(warnedFor("first"), 1); // its 5th connection, but a first warning again
    logged.filter.close();
  });

  it("with logging off or at error, reads nothing to warn with and counts nothing", () => {
    const logged = start("error");
    for (let n = 1; n <= 3; n++) logged.connect(cluster("bare"));
    assert.deepEqual(logged.propertiesRead(), []);
    logged.filter.setLogLevel("warn");
    logged.connect(cluster("bare"));
    // The first connection seen at warning is the first warning.
    assert.deepEqual(logged.take(), [MISSING]);
    logged.filter.close();
  });
});

describe("release build/main.wasm: metadata shown within metadata_preview_bytes", () => {
  /** The metadata lines of one connection to a cluster with `location` as its namespace's value. */
  function metadataLines(configuration: string, location: JsonValue, namespace = "location"): string[] {
    const logged = start("info", configuration);
    logged.connect({ name: "web_service", metadata: { filter_metadata: { [namespace]: location } } });
    logged.filter.close();
    return logged.take().filter((line) => line.includes(" metadata "));
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
    for (let n = 0; n < 3; n++) logged.connect(big);
    const lines = logged.take().filter((line) => line.includes(" metadata "));
    assert.deepEqual(lines, Array(3).fill(`info upstream cluster metadata location.blob: ${"x".repeat(256)} ... (+4194048 bytes)`));
    logged.filter.close();
  });

  it("says so in the configured line when it is not the default", () => {
    const logger = startFilter({ wasm: WASM_PATH, rootId: "tcp_connection_logger", configuration: '{"metadata_preview_bytes": 64}' });
    logger.close();
    assert.ok(logger.messages().includes("info configured: metadata_namespace=location payload_preview_bytes=256 metadata_preview_bytes=64"));
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
      let refused: FilterStartError | undefined;
      try {
        startFilter({ wasm: WASM_PATH, rootId: "tcp_connection_logger", configuration });
      } catch (caught) {
        if (caught instanceof FilterStartError) refused = caught;
      }
      assert.ok(refused, "the configuration was taken");
      assert.deepEqual(refused.messages, [`error invalid plugin configuration: ${error}`]);
    });
  }
});
