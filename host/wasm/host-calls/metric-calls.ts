// Host calls of the metrics area (docs/envoy-host.md §6): define a counter, gauge or histogram,
// and change or read it by id.

import { I32, I64, MetricType, WasmResult, words } from "../abi.ts";
import type { Metric } from "../metrics.ts";
import type { Meaning } from "../contract.ts";
import { hostCall, NOTHING, type HostContext } from "../spec.ts";
import { escape, text, u32, u64 } from "../trace-values.ts";


/** The metric's name as the module defined it (the stat without Envoy's `wasmcustom.`). */
function metricName(metric: Metric): string {
  return escape(metric.statName.slice(metric.statName.indexOf(".") + 1));
}

/** What a described metric call says: nothing for an unknown id. */
function aboutMetric(host: HostContext, id: number, facts: (name: string, metric: Metric) => Meaning): Meaning {
  const metric = host.context.metric(id);
  return metric === undefined ? NOTHING : facts(metricName(metric), metric);
}

export const METRIC_CALLS = [
  hostCall({
    name: "proxy_define_metric",
    params: words(4),
    call(host, type: number, namePtr: number, nameSize: number, idPtr: number) {
      if (type >>> 0 > MetricType.Histogram) return WasmResult.BadArgument;
      const name = host.memory.string(namePtr, nameSize);
      if (name === null) return WasmResult.InvalidMemoryAccess;
      return host.memory.writeU32(idPtr, host.context.defineMetric(type, name)) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    describe([type, namePtr, nameSize, idPtr], result, host): Meaning {
      const kind = MetricType[type]?.toLowerCase() ?? `type ${type}`;
      const name = text(host.memory, namePtr, nameSize);
      return result === WasmResult.Ok ? { type: kind, name, id: u32(host.memory, idPtr) } : { type: kind, name };
    },
    text: ({ type, name, id }) => (id === undefined ? `${type} ${name}` : `${type} ${name} = id ${id}`),
  }),
  hostCall({
    name: "proxy_increment_metric",
    params: [I32, I64],
    call: (host, id: number, offset: bigint) => host.context.incrementMetric(id, offset),
    describe: ([id, offset], _result, host) => aboutMetric(host, id, (name) => ({ metric: name, delta: offset })),
    text: ({ metric, delta }) => (BigInt(delta) < 0n ? `${metric} -= ${-BigInt(delta)}` : `${metric} += ${delta}`),
  }),
  hostCall({
    name: "proxy_record_metric",
    params: [I32, I64],
    call: (host, id: number, value: bigint) => host.context.recordMetric(id, value),
    describe: ([id, value], _result, host) =>
      aboutMetric(host, id, (name, metric) => ({
        metric: name,
        type: MetricType[metric.type].toLowerCase(),
        value: BigInt.asUintN(64, value),
      })),
    text({ metric, type, value }) {
      if (type === "gauge") return `${metric} = ${value}`;
      return type === "counter" ? `${metric} += ${value}` : `${metric} records ${value}`;
    },
  }),
  hostCall({
    name: "proxy_get_metric",
    params: words(2),
    call(host, id: number, resultPtr: number) {
      const value = host.context.metricValue(id);
      if (typeof value === "number") return value;
      return host.memory.writeU64(resultPtr, value) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    describe: ([id, resultPtr], result, host) =>
      aboutMetric(host, id, (name): Meaning => (result === WasmResult.Ok ? { metric: name, value: u64(host.memory, resultPtr) } : { metric: name })),
    text: ({ metric, value }) => (value === undefined ? String(metric) : `${metric} = ${value}`),
  }),
];
