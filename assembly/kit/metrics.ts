// Metrics a filter declares as fields of its plugin class (or in its configure). Envoy names them
// `wasmcustom.<name>`; defining a name again (another VM, a new configuration) points at the same
// stat (docs/envoy-host.md §6).
//
// A metric is defined by the kit, not by the filter: each one created joins a list, and the
// dispatcher defines the whole list when a plugin's configure accepts its configuration
// (defineCreatedMetrics), so no metric of a plugin can be left undefined. A metric the host
// refuses refuses the configuration. A metric created later (in a connection) has never been
// defined: its first add() logs that, naming it, instead of doing nothing silently.

import { LogLevelValues, MetricTypeValues, WasmResultValues } from "@solo-io/proxy-runtime/runtime";
import { defineMetric, incrementMetric, recordMetric, resultName } from "./host";
import { log } from "./log";

/** A metric's state: its add() works only once the host has given it an id. */
const enum MetricState { Created, Defined, Refused, ReportedUndefined }

/** Metrics created since the last definition: the next configure defines them. */
const created: Metric[] = [];

/** A counter or a gauge, defined by the kit when the plugin that holds it is configured. */
export class Metric {
  private type: MetricTypeValues;
  private name: string;
  private id: u32 = 0;
  private state: MetricState = MetricState.Created;

  constructor(type: MetricTypeValues, name: string) {
    this.type = type;
    this.name = name;
    created.push(this);
  }

  /** Asks the host for the metric's id; "" when it gives one, else the reason, naming the metric. */
  define(): string {
    if (this.state == MetricState.Defined) return "";
    const defined = defineMetric(this.type, String.UTF8.encode(this.name));
    if (defined.result != WasmResultValues.Ok) {
      this.state = MetricState.Refused;
      return "cannot define metric " + this.name + ": " + resultName(defined.result);
    }
    this.state = MetricState.Defined;
    this.id = defined.value;
    return "";
  }

  /**
   * Adds `offset`: a counter only grows (an offset of 0 or less is skipped, as Envoy refuses it
   * with BadArgument), a gauge takes negative offsets too.
   */
  add(offset: i64): void {
    if (this.state != MetricState.Defined) {
      this.reportUndefined();
      return;
    }
    if (offset == 0 || (offset < 0 && this.type == MetricTypeValues.Counter)) return;
    const result = incrementMetric(this.id, offset);
    if (result != WasmResultValues.Ok) log(LogLevelValues.error, "cannot change metric " + this.name + ": " + resultName(result));
  }

  /**
   * Sets a gauge to `value`: what every VM that computes the same value from shared data can
   * publish without adding up (a counter would grow by it instead, so it is left alone).
   */
  set(value: u64): void {
    if (this.state != MetricState.Defined) {
      this.reportUndefined();
      return;
    }
    if (this.type != MetricTypeValues.Gauge) return;
    const result = recordMetric(this.id, value);
    if (result != WasmResultValues.Ok) log(LogLevelValues.error, "cannot change metric " + this.name + ": " + resultName(result));
  }

  /** A metric created after its plugin was configured: said once, as it is a mistake in the filter. */
  private reportUndefined(): void {
    if (this.state != MetricState.Created) return;
    this.state = MetricState.ReportedUndefined;
    log(LogLevelValues.error, "metric " + this.name + " is used but was never defined: create it in the plugin class, which the kit defines when it is configured");
  }
}

/**
 * Defines every metric created since the last call (the configured plugin's, and any created
 * before it). "" when the host took them all, else the first refusal, naming the metric.
 */
export function defineCreatedMetrics(): string {
  let error = "";
  for (let i = 0; i < created.length; i++) {
    const refused = created[i].define();
    if (error.length == 0) error = refused;
  }
  created.length = 0;
  return error;
}

/** A counter named `name` (Envoy shows it as `wasmcustom.<name>`): it only grows. */
export function counter(name: string): Metric {
  return new Metric(MetricTypeValues.Counter, name);
}

/** A gauge named `name` (Envoy shows it as `wasmcustom.<name>`): it goes up and down. */
export function gauge(name: string): Metric {
  return new Metric(MetricTypeValues.Gauge, name);
}
