// proxy_define_metric ids of one VM (docs/envoy-host.md §6): per type, counting by 4 with the type in
// the low two bits (counters 4, 8, 12...; gauges 5, 9...; histograms 6, 10...). Every id points
// at a stat `wasmcustom.<name>` in the process-wide store, so VMs add up.

import { MetricType } from "./abi.ts";
import type { StatKind, StatsStore } from "../stats.ts";

const ID_INCREMENT = 0x4;
const KINDS: Record<MetricType, StatKind> = {
  [MetricType.Counter]: "counter",
  [MetricType.Gauge]: "gauge",
  [MetricType.Histogram]: "histogram",
};

export interface Metric {
  type: MetricType;
  statName: string;
}

export class MetricIds {
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
}
