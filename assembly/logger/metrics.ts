// The logger's metrics, which the kit defines when their root context is configured.

import { counter, gauge, Metric } from "../kit";

export class ConnectionMetrics {
  /** counter: connections done */
  private connections: Metric = counter("connection_counter");
  /** gauge: connections opened and not done yet */
  private active: Metric = gauge("connection_active");
  private downstreamBytes: Metric = counter("connection_downstream_bytes");
  private upstreamBytes: Metric = counter("connection_upstream_bytes");

  connectionOpened(): void {
    this.active.add(1);
  }

  connectionDone(wasOpened: bool): void {
    this.connections.add(1);
    if (wasOpened) this.active.add(-1);
  }

  downstreamData(size: usize): void {
    this.downstreamBytes.add(<i64>size);
  }

  upstreamData(size: usize): void {
    this.upstreamBytes.add(<i64>size);
  }
}
