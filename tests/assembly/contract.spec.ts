// What the kit does so that a filter cannot misuse it quietly: metrics are defined by the kit
// (a metric used undefined says so, naming it), and a log line written in one statement is built
// only when the host shows its level.

import { Connection } from "../../assembly/kit/connection";
import { logLine } from "../../assembly/kit/logline";
import { counter, defineCreatedMetrics, gauge } from "../../assembly/kit/metrics";
import { hostLogLevelQueries, logLines, metric, resetHost, setHostLogLevel } from "./mock";

const DEBUG: u32 = 1;
const INFO: u32 = 2;
const WARN: u32 = 3;

describe("metrics", () => {
  beforeEach(() => {
    resetHost();
    defineCreatedMetrics(); // none left over from another spec
  });

  it("are defined, every one created so far, when the kit defines them", () => {
    const connections = counter("contract_connections");
    const active = gauge("contract_active");
    expect(metric("contract_connections")).toBe(-1);
    expect(defineCreatedMetrics()).toBe("");
    connections.add(2);
    active.add(3);
    active.add(-1);
    expect(metric("contract_connections")).toBe(2);
    expect(metric("contract_active")).toBe(2);
    expect(logLines()).toStrictEqual([]);
  });

  it("used before the kit defines them, say so once, naming the metric, and count nothing", () => {
    const late = counter("contract_late");
    late.add(1);
    late.add(1);
    expect(metric("contract_late")).toBe(-1);
    expect(logLines()).toStrictEqual([
      "4 metric contract_late is used but was never defined: create it in the plugin class, which the kit defines when it is configured",
    ]);
  });

  it("are defined once: a second definition leaves the first in place", () => {
    const once = counter("contract_once");
    defineCreatedMetrics();
    once.add(1);
    expect(defineCreatedMetrics()).toBe("");
    expect(once.define()).toBe("");
    once.add(1);
    expect(metric("contract_once")).toBe(2);
  });
});

class LineConnection extends Connection {}

describe("one-statement log lines", () => {
  beforeEach(() => {
    resetHost();
  });

  it("send one line at their level, with the connection's prefix", () => {
    setHostLogLevel(INFO);
    const connection = new LineConnection(7);
    connection.logLine(INFO).text("closed after ").decimal(12).text(" bytes: ").escaped(String.UTF8.encode("a\n")).send();
    connection.logLine(WARN).text("second").send();
    expect(logLines()).toStrictEqual(["2 connection 7: closed after 12 bytes: a\\n", "3 connection 7: second"]);
  });

  it("are neither built nor sent when the host hides their level, at one level query each", () => {
    setHostLogLevel(WARN);
    const connection = new LineConnection(7);
    connection.logLine(INFO).text("hidden ").decimal(1).send();
    logLine(DEBUG).text("hidden too").send();
    expect(logLines()).toStrictEqual([]);
    expect(hostLogLevelQueries()).toBe(2);
  });

  it("without a connection have no prefix, and a hidden line does not disturb the next", () => {
    setHostLogLevel(INFO);
    logLine(DEBUG).text("hidden").send();
    logLine(INFO).text("configured: ").preview(String.UTF8.encode("abcdef"), 3, "\"").send();
    expect(logLines()).toStrictEqual(["2 configured: \"abc\" ... (+3 bytes)"]);
  });
});
