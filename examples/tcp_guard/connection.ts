// tcp_guard's connection: refuses a source in deny_sources before tcp_proxy connects, closes a
// connection whose client sends more than max_downstream_bytes, and prepends a PROXY protocol
// line to the client's first bytes. Once it has closed a connection, nothing more of the client's
// passes; the upstream's bytes are left alone (Envoy does not support holding them,
// docs/envoy-host.md §3).

import {
  closeStream, Connection, FilterStatusValues, HostBytes, line, logLevel, LogLevelValues, readProperty, resultName, SocketAddress,
  StreamTypeValues, WasmResultValues,
} from "../../assembly/kit";
import { GuardPlugin } from "./plugin";
import { proxyProtocolLine } from "./proxy_protocol";

const SOURCE_ADDRESS = String.UTF8.encode("source\0address");
const DESTINATION_ADDRESS = String.UTF8.encode("destination\0address");
// The refusal line's words as UTF-8, copied as they are: a refused connection is the common case
// under attack, and text() would convert each from UTF-16 every time.
const REFUSED_SOURCE = String.UTF8.encode("refused: source ");
const IS_IN_DENY_SOURCES = String.UTF8.encode(" is in deny_sources ");
const PREPENDED = String.UTF8.encode("prepended ");

// Filled in place for each connection: a VM runs one callback at a time.
const source = new SocketAddress();
const sourceRead = new HostBytes();
const destinationRead = new HostBytes();

export class GuardConnection extends Connection {
  private plugin: GuardPlugin;
  /** bytes the client has sent so far, the PROXY line not included */
  private downstreamBytes: u64 = 0;
  /** the filter has closed the connection: nothing more of the client's passes */
  private closed: bool = false;
  private proxyLineSent: bool = false;
  /** `source.address` as read in proxy_on_new_connection, for the PROXY line; null until then */
  private sourceText: ArrayBuffer | null = null;
  /** `sourceText` was read as an IPv4 socket address: the PROXY line need not read it again */
  private sourceIsIpv4: bool = false;

  constructor(id: u32, plugin: GuardPlugin) {
    super(id);
    this.plugin = plugin;
  }

  // proxy_on_new_connection: the source is known, tcp_proxy has not connected yet
  // (docs/envoy-host.md §3). A refused connection is closed, and StopIteration keeps tcp_proxy
  // from connecting upstream.
  onNewConnection(): FilterStatusValues {
    // Fields and module globals are used in place, not held in locals: AS 0.17 counts a reference
    // for each local that holds one (docs/toolchain.md), and this runs for every connection.
    this.plugin.metrics.connections.add(1);
    if (this.plugin.settings.denySources.length == 0) return FilterStatusValues.Continue;
    readProperty(SOURCE_ADDRESS, sourceRead);
    this.sourceText = sourceRead.bytes; // empty unless the read is Ok: no address
    if (!source.read(sourceRead.bytes)) {
      this.warnNotApplied(sourceRead);
      return FilterStatusValues.Continue;
    }
    this.sourceIsIpv4 = !source.ip.isIpv6;
    const range = this.plugin.settings.denying(changetype<usize>(source.ip.bytes), source.ip.isIpv6);
    if (range === null) return FilterStatusValues.Continue;
    this.plugin.metrics.denied.add(1);
    if (logLevel() <= LogLevelValues.info) {
      this.beginLine();
      line.bytes(REFUSED_SOURCE);
      // Read as a socket address: digits, hex letters, dots, colons and brackets, nothing to escape.
      line.bytes(sourceRead.bytes);
      line.bytes(IS_IN_DENY_SOURCES);
      line.bytes(range.utf8);
      line.send(LogLevelValues.info);
    }
    this.close(false);
    return FilterStatusValues.StopIteration;
  }

  /** A pipe, or a host without the property: there is no IP address to compare. */
  private warnNotApplied(source: HostBytes): void {
    if (logLevel() > LogLevelValues.warn) return;
    this.beginLine();
    if (source.ok) {
      line.text("source address ");
      line.escaped(source.bytes);
      line.text(" is not an IP address");
    } else {
      line.text("source address unavailable: ");
      line.text(resultName(source.result));
    }
    line.text(": deny_sources not applied");
    line.send(LogLevelValues.warn);
  }

  // proxy_on_downstream_data
  onDownstreamData(size: usize, endOfStream: bool): FilterStatusValues {
    if (this.closed) return FilterStatusValues.StopIteration;
    // Bytes an earlier StopIteration held are reported again: count only the new ones.
    this.downstreamBytes += this.downstream.received;
    const limit = this.plugin.settings.maxDownstreamBytes;
    if (limit > 0 && this.downstreamBytes > limit) {
      this.plugin.metrics.overLimit.add(1);
      this.logLine(LogLevelValues.info).text("closed: ").decimal(this.downstreamBytes)
        .text(" bytes from downstream exceed max_downstream_bytes ").decimal(limit).send();
      this.close(true);
      return FilterStatusValues.StopIteration;
    }
    if (this.plugin.settings.proxyProtocol && !this.proxyLineSent) return this.sendProxyLine();
    return FilterStatusValues.Continue;
  }

  /** Prepends the PROXY line to this first chunk (an empty one at end of stream included). */
  private sendProxyLine(): FilterStatusValues {
    this.proxyLineSent = true;
    // The source does not change: read once, in proxy_on_new_connection if deny_sources needed it.
    let sourceText = this.sourceText;
    if (sourceText === null) sourceText = readProperty(SOURCE_ADDRESS, sourceRead).bytes;
    const proxyLine = proxyProtocolLine(sourceText, readProperty(DESTINATION_ADDRESS, destinationRead).bytes, this.sourceIsIpv4);
    sourceRead.release();
    destinationRead.release();
    const result = this.downstream.prepend(proxyLine);
    if (result != WasmResultValues.Ok) {
      // The upstream expects the line: without it the client's bytes would be read as one.
      this.logFailure("cannot prepend the PROXY line", result);
      this.close(true);
      return FilterStatusValues.StopIteration;
    }
    // Built piece by piece behind the level, as the refusal line: through logLine's chain, each
    // argument would be counted on every connection, the line shown or not.
    if (logLevel() <= LogLevelValues.debug) {
      this.beginLine();
      line.bytes(PREPENDED);
      line.escaped(proxyLine);
      line.send(LogLevelValues.debug);
    }
    return FilterStatusValues.Continue;
  }

  /**
   * Closes the connection: downstream, and upstream too once tcp_proxy may have connected. As
   * StreamData#close does, without making the streams: a refused connection never has data.
   */
  private close(upstreamToo: bool): void {
    this.closed = true;
    const result = closeStream(StreamTypeValues.Downstream);
    if (result != WasmResultValues.Ok) this.logFailure("cannot close downstream", result);
    if (!upstreamToo) return;
    const upstreamResult = closeStream(StreamTypeValues.Upstream);
    if (upstreamResult != WasmResultValues.Ok) this.logFailure("cannot close upstream", upstreamResult);
  }

  private logFailure(what: string, result: WasmResultValues): void {
    this.log(LogLevelValues.error, what + ": " + resultName(result));
  }
}
