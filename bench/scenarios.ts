// What the lifecycle benchmarks run: a filter, its configuration and log level, and the
// connection it gets; and, for each, the same-calls baseline's script, read from a trace of the
// filter and checked against a trace of the baseline running it.

import type { WasmFilterConfig } from "../host/config/model.ts";
import type { LogLevelName } from "../host/loggers.ts";
import type { TraceEvent } from "../host/wasm/api.ts";
import { describeConnection, parseTrace, sameCallsScript, statuses, type TracedVm } from "./host-calls.ts";
import { AUTHZ_CLUSTER, ConnectionDriver, startPlugin, WORKER_THREAD, type ChainSetting } from "./vm-driver.ts";

export const LOGGER_WASM = "build/main.wasm";
export const GUARD_WASM = "build/tcp_guard.wasm";
export const AUTHZ_WASM = "build/tcp_authz.wasm";

/** Bytes each way in a lifecycle: printable, so a preview is escaped at its usual cost. */
export const PAYLOAD_BYTES = 100;
const PAYLOAD = new Uint8Array(PAYLOAD_BYTES).fill(0x61);

/** tcp_guard as docs/tcp-guard.md shows it configured: two ranges, a byte limit, the PROXY line. */
const GUARD_CONFIGURATION = '{"deny_sources": ["10.0.0.0/8", "::1/128"], "max_downstream_bytes": 1048576, "proxy_protocol": true}';
/** in 10.0.0.0/8 */
export const DENIED_SOURCE = "10.1.2.3";
const ALLOWED_SOURCE = "127.0.0.1";

export type Lifecycle = (driver: ConnectionDriver) => void;

export interface Scenario {
  /** e.g. `logger, log info` */
  name: string;
  wasmPath: string;
  plugin: WasmFilterConfig;
  level: LogLevelName;
  sourceAddress: string;
  /** one connection, start to end */
  lifecycle: Lifecycle;
}

const exchange: Lifecycle = (driver) => driver.lifecycle(PAYLOAD, PAYLOAD);
const refused: Lifecycle = (driver) => driver.refused();

/** The levels the logger is measured at, and how Envoy names them. */
export const LOGGER_LEVELS: Array<[LogLevelName, string]> = [["info", "info"], ["warn", "warning"], ["off", "off"]];

export function loggerScenario(setting: ChainSetting, level: LogLevelName, levelName: string): Scenario {
  return { name: `logger, log ${levelName}`, wasmPath: LOGGER_WASM, plugin: setting.plugin, level, sourceAddress: ALLOWED_SOURCE, lifecycle: exchange };
}

/** tcp_guard's plugin in the chain of `setting`, with `configuration`. */
export function guardPlugin(setting: ChainSetting, configuration: string): WasmFilterConfig {
  return {
    ...setting.plugin,
    name: "tcp_guard",
    rootId: "tcp_guard",
    vmId: "tcp_guard",
    code: { kind: "local", filename: "/etc/envoy/plugin/tcp_guard.wasm" },
    configuration,
  };
}

export function guardScenarios(setting: ChainSetting): Scenario[] {
  const guard = { wasmPath: GUARD_WASM, plugin: guardPlugin(setting, GUARD_CONFIGURATION), level: "info" as const };
  return [
    { ...guard, name: "tcp_guard, allowed", sourceAddress: ALLOWED_SOURCE, lifecycle: exchange },
    { ...guard, name: "tcp_guard, denied", sourceAddress: DENIED_SOURCE, lifecycle: refused },
  ];
}

/** tcp_authz as examples/tcp_authz/envoy.yaml configures it; every question is answered 200. */
const AUTHZ_CONFIGURATION = `{"cluster": "${AUTHZ_CLUSTER}", "path": "/check", "timeout_ms": 1000, "failure_mode": "deny"}`;

export function authzScenario(setting: ChainSetting): Scenario {
  const plugin: WasmFilterConfig = {
    ...setting.plugin,
    name: "tcp_authz",
    rootId: "tcp_authz",
    vmId: "tcp_authz",
    code: { kind: "local", filename: "/etc/envoy/plugin/tcp_authz.wasm" },
    configuration: AUTHZ_CONFIGURATION,
  };
  const admitted: Lifecycle = (driver) => driver.lifecycleAfterAnswer(PAYLOAD, PAYLOAD);
  return { name: "tcp_authz, admitted", wasmPath: AUTHZ_WASM, plugin, level: "info", sourceAddress: ALLOWED_SOURCE, lifecycle: admitted };
}

/** Every lifecycle scenario, in the order the tables show them: the logger at info first. */
export function lifecycleScenarios(setting: ChainSetting): Scenario[] {
  return [...LOGGER_LEVELS.map(([level, name]) => loggerScenario(setting, level, name)), ...guardScenarios(setting), authzScenario(setting)];
}

/** Lifecycles traced: the last one is past whatever a filter does once per VM or per cluster. */
const TRACED_LIFECYCLES = 5;

/** Runs TRACED_LIFECYCLES connections of `scenario` with `wasmPath` and `plugin` in a traced VM. */
function traceScenario(scenario: Scenario, setting: ChainSetting, wasmPath: string, plugin: WasmFilterConfig): { vm: TracedVm; id: number } {
  const events: TraceEvent[] = [];
  const traced = startPlugin(plugin, wasmPath, scenario.level, (event) => events.push(event));
  const driver = new ConnectionDriver(traced, setting, scenario.sourceAddress);
  for (let i = 0; i < TRACED_LIFECYCLES; i++) scenario.lifecycle(driver);
  traced.close();
  const vm = parseTrace(events, WORKER_THREAD);
  return { vm, id: Math.max(...vm.connections.keys()) };
}

/** The same-calls baseline of a scenario: its plugin configuration, and the calls it repeats. */
export interface SameCalls {
  plugin: WasmFilterConfig;
  /** `callback: call` per host call of one connection, as describeConnection lists them */
  calls: string[];
}

/**
 * The script of the host calls `scenario`'s filter makes for one connection (its last traced
 * one), checked: the baseline running it makes the same calls, call by call, with the same
 * paths, lengths, ranges and metrics, and returns the same statuses. The baseline keeps the
 * filter's plugin name, root id and vm id, so that the host's log lines are as long as the
 * filter's.
 */
export function sameCallsOf(scenario: Scenario, setting: ChainSetting, sameCallsWasm: string): SameCalls {
  const filter = traceScenario(scenario, setting, scenario.wasmPath, scenario.plugin);
  const plugin = { ...scenario.plugin, configuration: sameCallsScript(filter.vm, filter.id) };
  const calls = describeConnection(filter.vm, filter.id);
  const expected = [...calls, ...statuses(filter.vm, filter.id)];
  const baseline = traceScenario(scenario, setting, sameCallsWasm, plugin);
  const repeated = baseline.id === filter.id ? [...describeConnection(baseline.vm, baseline.id), ...statuses(baseline.vm, baseline.id)] : [];
  if (JSON.stringify(repeated) !== JSON.stringify(expected)) {
    throw new Error(
      `${scenario.name}: the same-calls baseline does not repeat the filter's host calls\n` +
        `filter (connection ${filter.id}):\n  ${expected.join("\n  ")}\nbaseline (connection ${baseline.id}):\n  ${repeated.join("\n  ")}`,
    );
  }
  return { plugin, calls };
}
