// The filter of a connection accepted while its VM is failed (docs/envoy-host.md §8): Envoy's
// failure policy closes it at once (FAIL_CLOSED, FAIL_RELOAD), or lets its traffic pass as if
// the filter were not there (FAIL_OPEN).

import type { ConnectionFilter, FilterStatus, ReadFilterCallbacks } from "./contract.ts";

export class FailedVmFilter implements ConnectionFilter {
  private ended = false;

  constructor(
    private readonly callbacks: ReadFilterCallbacks,
    private readonly failOpen: boolean,
    /** the connection has ended */
    private readonly onEnd: () => void,
  ) {}

  onNewConnection(): FilterStatus {
    if (this.failOpen) return "Continue";
    this.callbacks.connection.close();
    return "StopIteration";
  }

  onData(): FilterStatus {
    return this.failOpen ? "Continue" : "StopIteration";
  }

  onWrite(): FilterStatus {
    return this.failOpen ? "Continue" : "StopIteration";
  }

  onDownstreamClose(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
  }
}
