// byte_quota (build/byte_quota.wasm): closes a connection from the side that sent too much. The
// client may send max_downstream_bytes, the upstream max_upstream_bytes; the chunk that goes past
// its quota is not passed on, and the filter closes the connection.
//
// What closing means (docs/envoy-host.md §3): this.downstream.close() and this.upstream.close()
// are proxy_close_stream(Downstream) and proxy_close_stream(Upstream). For a network filter both
// close the one connection the filter sits on, the client's, after the callback returns; Envoy
// first sends the client what was already written to it (FlushWrite). tcp_proxy sees that close
// and closes its upstream connection. So whichever side went over, both peers see their
// connection closed; what differs is which bytes stop:
// - the client over its quota: the chunk stays in Envoy's read buffer (StopIteration) and goes
//   down with the connection; the upstream gets every byte before it.
// - the upstream over its quota: the chunk is replaced with nothing, so no byte of it reaches the
//   client (Envoy cannot hold upstream bytes); the client gets every byte before it, then the close.

import { Connection, FilterStatusValues, line, logLevel, LogLevelValues, NetworkFilter, resultName, WasmResultValues } from "../../assembly/kit";
import { QuotaPlugin } from "./settings";

export * from "../../assembly/kit/exports";

const NO_BYTES = new ArrayBuffer(0);

class QuotaConnection extends Connection {
  private plugin: QuotaPlugin;
  private downstreamBytes: u64 = 0;
  private upstreamBytes: u64 = 0;
  /** the filter has closed the connection: no more bytes pass either way */
  private closed: bool = false;

  constructor(id: u32, plugin: QuotaPlugin) {
    super(id);
    this.plugin = plugin;
  }

  // proxy_on_downstream_data: bytes from the client, towards the upstream.
  onDownstreamData(size: usize, endOfStream: bool): FilterStatusValues {
    if (this.closed) return FilterStatusValues.StopIteration;
    // `received`: the new bytes (after a StopIteration Envoy reports held bytes again; this
    // filter holds none before it closes, so here it is `size`).
    this.downstreamBytes += this.downstream.received;
    const limit = this.plugin.settings.maxDownstreamBytes;
    if (limit == 0 || this.downstreamBytes <= limit) return FilterStatusValues.Continue;
    this.plugin.downstreamClosed.add(1);
    this.logClose("the client", this.downstreamBytes, "max_downstream_bytes", limit);
    this.closed = true;
    const result = this.downstream.close(); // proxy_close_stream(Downstream)
    if (result != WasmResultValues.Ok) this.log(LogLevelValues.error, "cannot close downstream: " + resultName(result));
    // StopIteration: the chunk stays in the read buffer, and tcp_proxy never gets it.
    return FilterStatusValues.StopIteration;
  }

  // proxy_on_upstream_data: bytes from the upstream, towards the client.
  onUpstreamData(size: usize, endOfStream: bool): FilterStatusValues {
    if (this.closed) return FilterStatusValues.Continue;
    this.upstreamBytes += size; // upstream bytes are never held: all `size` are new
    const limit = this.plugin.settings.maxUpstreamBytes;
    if (limit == 0 || this.upstreamBytes <= limit) return FilterStatusValues.Continue;
    this.plugin.upstreamClosed.add(1);
    this.logClose("the upstream", this.upstreamBytes, "max_upstream_bytes", limit);
    this.closed = true;
    // StopIteration does not hold upstream bytes in Envoy: the chunk is emptied instead.
    const drained = this.upstream.replace(NO_BYTES);
    if (drained != WasmResultValues.Ok) this.log(LogLevelValues.error, "cannot drop the upstream's bytes: " + resultName(drained));
    const result = this.upstream.close(); // proxy_close_stream(Upstream)
    if (result != WasmResultValues.Ok) this.log(LogLevelValues.error, "cannot close upstream: " + resultName(result));
    return FilterStatusValues.Continue;
  }

  /** `closed: the client sent 201 bytes, more than max_downstream_bytes 200` */
  private logClose(who: string, sent: u64, setting: string, limit: u64): void {
    if (logLevel() > LogLevelValues.info) return;
    this.beginLine();
    line.text("closed: ");
    line.text(who);
    line.text(" sent ");
    line.decimal(sent);
    line.text(" bytes, more than ");
    line.text(setting);
    line.text(" ");
    line.decimal(limit);
    line.send(LogLevelValues.info);
  }
}

// Its root id, and "" for a configuration that leaves root_id out.
@global const networkFilter = new NetworkFilter<QuotaPlugin, QuotaConnection>(["byte_quota", ""]);
