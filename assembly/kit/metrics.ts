// Metrics a filter defines when it is configured. Envoy names them `wasmcustom.<name>`; defining
// a name again (another VM, a new configuration) points at the same stat (docs/envoy-host.md §6).

import { LogLevelValues, MetricTypeValues, WasmResultValues } from "@solo-io/proxy-runtime/runtime";
import { defineMetric, incrementMetric, recordMetric, resultName } from "./host";
import { log } from "./log";

export class Metric {
  private type: MetricTypeValues;
  private name: string;
  private id: u32 = 0;
  /** whether the host gave it an id: a metric it refused is left alone, its error logged once */
  private defined: bool = false;

  constructor(type: MetricTypeValues, name: string) {
    this.type = type;
    this.name = name;
  }

  /** Asks the host for the metric's id; call it from the plugin's configure. */
  define(): void {
    const defined = defineMetric(this.type, String.UTF8.encode(this.name));
    this.defined = defined.result == WasmResultValues.Ok;
    this.id = defined.value;
    if (!this.defined) log(LogLevelValues.error, "cannot define metric " + this.name + ": " + resultName(defined.result));
  }

  /**
   * Adds `offset`: a counter only grows (an offset of 0 or less is skipped, as Envoy refuses it
   * with BadArgument), a gauge takes negative offsets too.
   */
  add(offset: i64): void {
    if (!this.defined || offset == 0 || (offset < 0 && this.type == MetricTypeValues.Counter)) return;
    const result = incrementMetric(this.id, offset);
    if (result != WasmResultValues.Ok) log(LogLevelValues.error, "cannot change metric " + this.name + ": " + resultName(result));
  }

  /**
   * Sets a gauge to `value`: what every VM that computes the same value from shared data can
   * publish without adding up (a counter would grow by it instead, so it is left alone).
   */
  set(value: u64): void {
    if (!this.defined || this.type != MetricTypeValues.Gauge) return;
    const result = recordMetric(this.id, value);
    if (result != WasmResultValues.Ok) log(LogLevelValues.error, "cannot change metric " + this.name + ": " + resultName(result));
  }
}

export function counter(name: string): Metric {
  return new Metric(MetricTypeValues.Counter, name);
}

export function gauge(name: string): Metric {
  return new Metric(MetricTypeValues.Gauge, name);
}
