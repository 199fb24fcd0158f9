// conn_limit's connection: counts itself against its source IP in shared data before tcp_proxy
// connects, and is closed at once (never connected upstream) when the source has
// max_connections_per_source open already, on any worker. The count is given back in onDone.
//
// onDone, not the close callbacks: the kit calls it exactly once per connection, after the last
// close, whichever side closed first (docs/envoy-host.md §3), while the close callbacks come once
// per side, or once only when the upstream never connected.

import { Connection, FilterStatusValues, HostBytes, logLevel, LogLevelValues, readProperty, resultName, SharedCounter, SharedUpdate, SocketAddress, WasmResultValues } from "../../assembly/kit";
import { LimitPlugin, SOURCE_KEY_PREFIX } from "./plugin";

const SOURCE_ADDRESS = String.UTF8.encode("source\0address");

// Filled in place for each connection: a VM runs one callback at a time.
const source = new SocketAddress();
const sourceRead = new HostBytes();

export class LimitedConnection extends Connection {
  private plugin: LimitPlugin;
  /** the source's counter while this connection counts in it; null before, and once given back */
  private counted: SharedCounter | null = null;

  constructor(id: u32, plugin: LimitPlugin) {
    super(id);
    this.plugin = plugin;
  }

  // proxy_on_new_connection: the source is known, tcp_proxy has not connected yet.
  onNewConnection(): FilterStatusValues {
    const read = readProperty(SOURCE_ADDRESS, sourceRead);
    if (!source.read(read.bytes)) {
      // A pipe, or a host without the property: no IP to count against. It passes.
      this.log(LogLevelValues.warn, "not limited: no source IP address (" + (read.ok ? "not an IP address" : resultName(read.result)) + ")");
      sourceRead.release();
      return FilterStatusValues.Continue;
    }
    sourceRead.release();
    const plugin = this.plugin;
    const ip = source.ip.toString();
    const count = new SharedCounter(SOURCE_KEY_PREFIX + ip);
    const limit = plugin.settings.maxConnectionsPerSource;
    const update = count.incrementBelow(limit);
    if (update == SharedUpdate.AtLimit) {
      plugin.metrics.refused.add(1);
      this.log(LogLevelValues.info, "refused: source " + ip + " has " + count.value.toString() + " connections open, max_connections_per_source is " + limit.toString());
      const result = this.downstream.close();
      if (result != WasmResultValues.Ok) this.log(LogLevelValues.error, "cannot close downstream: " + resultName(result));
      return FilterStatusValues.StopIteration;
    }
    plugin.metrics.allowed.add(1);
    // A count that cannot be kept (logged by the kit) lets the connection pass: the limit guards
    // against a client's excess, not against the host's shared data failing.
    if (update == SharedUpdate.Failed) return FilterStatusValues.Continue;
    this.counted = count;
    if (count.created) plugin.sources.add(ip);
    if (logLevel() <= LogLevelValues.debug) {
      this.log(LogLevelValues.debug, "source " + ip + ": " + count.value.toString() + " of " + limit.toString() + " connections open");
    }
    return FilterStatusValues.Continue;
  }

  // proxy_on_done, once: the connection no longer counts against its source.
  onDone(): void {
    const count = this.counted;
    if (count === null) return;
    this.counted = null;
    count.decrement();
  }
}
