// The plugin's metrics. Envoy names them `wasmcustom.<name>`; defining a name again (another
// VM, a new configuration) points at the same stat.

import * as imports from "@solo-io/proxy-runtime/imports";
import { log, LogLevelValues, MetricTypeValues, WasmResultValues } from "@solo-io/proxy-runtime/runtime";
import { RETURNED_POINTER, resultName } from "./host";

function defineMetric(type: MetricTypeValues, name: string): u32 {
  const utf8 = String.UTF8.encode(name);
  store<u32>(RETURNED_POINTER, 0);
  const result = imports.proxy_define_metric(type, changetype<usize>(utf8), utf8.byteLength, RETURNED_POINTER);
  if (result != WasmResultValues.Ok) {
    log(LogLevelValues.error, "cannot define metric " + name + ": " + resultName(result));
  }
  return load<u32>(RETURNED_POINTER);
}

export class ConnectionMetrics {
  /** counter: connections done */
  private connections: u32 = 0;
  /** gauge: connections opened and not done yet */
  private active: u32 = 0;
  private downstreamBytes: u32 = 0;
  private upstreamBytes: u32 = 0;

  define(): void {
    this.connections = defineMetric(MetricTypeValues.Counter, "connection_counter");
    this.active = defineMetric(MetricTypeValues.Gauge, "connection_active");
    this.downstreamBytes = defineMetric(MetricTypeValues.Counter, "connection_downstream_bytes");
    this.upstreamBytes = defineMetric(MetricTypeValues.Counter, "connection_upstream_bytes");
  }

  connectionOpened(): void {
    imports.proxy_increment_metric(this.active, 1);
  }

  connectionDone(wasOpened: bool): void {
    imports.proxy_increment_metric(this.connections, 1);
    if (wasOpened) imports.proxy_increment_metric(this.active, -1);
  }

  // A counter increment of 0 is BadArgument in Envoy: callers pass size > 0.
  downstreamData(size: usize): void {
    imports.proxy_increment_metric(this.downstreamBytes, <i64>size);
  }

  upstreamData(size: usize): void {
    imports.proxy_increment_metric(this.upstreamBytes, <i64>size);
  }
}
