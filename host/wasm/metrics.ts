// The metrics of one VM (docs/envoy-host.md §6): proxy_define_metric ids, per type, counting by 4
// with the type in the low two bits (counters 4, 8, 12...; gauges 5, 9...; histograms 6, 10...).
// Every id points at a stat `wasmcustom.<name>` in the process-wide store, so VMs add up.

import type { StatKind, StatsStore } from "../stats.ts";
import { MetricType, WasmResult } from "./abi.ts";

const ID_INCREMENT = 0x4;
const KINDS: Record<MetricType, StatKind> = {
  [MetricType.Counter]: "counter",
  [MetricType.Gauge]: "gauge",
  [MetricType.Histogram]: "histogram",
};

export interface Metric {
  type: MetricType;
  /** the stat's full name, `wasmcustom.<name>` */
  statName: string;
}

export class VmMetrics {
  private readonly lastIds = [MetricType.Counter, MetricType.Gauge, MetricType.Histogram];
  private readonly metrics = new Map<number, Metric>();

  constructor(private readonly stats: StatsStore) {}

  /** A new id for the stat of this name (defining a name again gives another id for the same stat). */
  define(type: MetricType, name: string): number {
    const statName = "wasmcustom." + name;
    this.stats.define(statName, KINDS[type]);
    const id = (this.lastIds[type] += ID_INCREMENT);
    this.metrics.set(id, { type, statName });
    return id;
  }

  get(id: number): Metric | undefined {
    return this.metrics.get(id);
  }

  /** proxy_increment_metric: counters only go up; a histogram is not incremented. */
  increment(id: number, offset: bigint): WasmResult {
    const metric = this.metrics.get(id);
    if (metric === undefined) return WasmResult.NotFound;
    if (metric.type === MetricType.Histogram) return WasmResult.BadArgument;
    if (metric.type === MetricType.Counter && offset <= 0n) return WasmResult.BadArgument;
    this.stats.add(metric.statName, offset);
    return WasmResult.Ok;
  }

  /** proxy_record_metric: a gauge is set, a counter added to, a histogram given a sample (u64). */
  record(id: number, value: bigint): WasmResult {
    const metric = this.metrics.get(id);
    if (metric === undefined) return WasmResult.NotFound;
    const unsigned = BigInt.asUintN(64, value);
    if (metric.type === MetricType.Gauge) this.stats.set(metric.statName, unsigned);
    else this.stats.add(metric.statName, unsigned);
    return WasmResult.Ok;
  }

  /** proxy_get_metric: a counter's or gauge's value as u64. */
  value(id: number): bigint | WasmResult {
    const metric = this.metrics.get(id);
    if (metric === undefined) return WasmResult.NotFound;
    if (metric.type === MetricType.Histogram) return WasmResult.BadArgument;
    return BigInt.asUintN(64, this.stats.get(metric.statName) ?? 0n);
  }
}
