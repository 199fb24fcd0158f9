// The logger's connection: logs what one TCP connection does and counts it once when done.
// Each callback asks the host's log level once and makes only the host calls that level needs:
// the metrics' updates always, the property reads, previews and clock reads only for lines the
// level prints (the upstream's description is in upstream.ts).

import {
  Connection, currentTimeNanoseconds, FilterStatusValues, HostBytes, line, logLevel, LogLevelValues, PeerTypeValues, readProperty, StreamData,
} from "../kit";
import { LoggerPlugin } from "./plugin";

const SOURCE_ADDRESS = String.UTF8.encode("source\0address");
// What the host answers, filled in place: a VM runs one callback at a time.
const source = new HostBytes();
const preview = new HostBytes();

/** `<peer>)`, the end of a close line. */
function peerEnd(peer: PeerTypeValues): string {
  if (peer == PeerTypeValues.Local) return "local)";
  if (peer == PeerTypeValues.Remote) return "remote)";
  return "unknown)";
}

export class LoggerConnection extends Connection {
  private plugin: LoggerPlugin;
  private opened: bool = false;
  /** the host's clock when the connection opened, read only if info lines were shown then */
  private openedAt: u64 = 0;
  private timed: bool = false;
  private downstreamBytes: u64 = 0;
  private upstreamBytes: u64 = 0;
  private upstreamDescribed: bool = false;

  constructor(id: u32, plugin: LoggerPlugin) {
    super(id);
    this.plugin = plugin;
  }

  // proxy_on_new_connection: the cluster is not chosen yet, only the client is known.
  onNewConnection(): FilterStatusValues {
    this.opened = true;
    this.plugin.metrics.connectionOpened();
    if (logLevel() > LogLevelValues.info) return FilterStatusValues.Continue;
    // For the done line's duration: read only when info lines are shown.
    this.openedAt = currentTimeNanoseconds();
    this.timed = true;
    readProperty(SOURCE_ADDRESS, source);
    this.beginLine();
    line.text("new connection from ");
    if (source.ok) line.escaped(source.bytes);
    else line.text("unknown");
    line.send(LogLevelValues.info);
    source.release();
    return FilterStatusValues.Continue;
  }

  // proxy_on_downstream_data. The logger always continues: every byte is new (`received`).
  onDownstreamData(size: usize, end: bool): FilterStatusValues {
    const stream = this.downstream;
    const received = stream.received;
    if (received > 0) {
      this.downstreamBytes += received;
      this.plugin.metrics.downstreamData(received);
    }
    this.logData(logLevel(), "downstream", stream, end);
    return FilterStatusValues.Continue;
  }

  // proxy_on_upstream_data
  onUpstreamData(size: usize, end: bool): FilterStatusValues {
    const hostLevel = logLevel();
    if (!this.upstreamDescribed) {
      this.upstreamDescribed = true;
      this.plugin.upstream.describe(this, hostLevel);
    }
    const stream = this.upstream;
    const received = stream.received;
    if (received > 0) {
      this.upstreamBytes += received;
      this.plugin.metrics.upstreamData(received);
    }
    this.logData(hostLevel, "upstream", stream, end);
    return FilterStatusValues.Continue;
  }

  // proxy_on_downstream_connection_close
  onDownstreamConnectionClose(peer: PeerTypeValues): void {
    this.logClose("downstream", peer);
  }

  // proxy_on_upstream_connection_close
  onUpstreamConnectionClose(peer: PeerTypeValues): void {
    this.logClose("upstream", peer);
  }

  // proxy_on_done: the dispatcher calls it once, however often Envoy does. The duration is left
  // out for a connection that opened while info lines were not shown: its start was not read.
  onDone(): void {
    this.plugin.metrics.connectionDone(this.opened);
    if (logLevel() > LogLevelValues.info) return;
    this.beginLine();
    line.text("done: ");
    line.decimal(this.downstreamBytes);
    line.text(" bytes from downstream, ");
    line.decimal(this.upstreamBytes);
    line.text(" bytes from upstream");
    if (this.timed) {
      const now = currentTimeNanoseconds();
      line.text(", ");
      line.decimal(now > this.openedAt ? (now - this.openedAt) / 1000000 : 0);
      line.text(" ms");
    }
    line.send(LogLevelValues.info);
  }

  private logClose(side: string, peer: PeerTypeValues): void {
    if (logLevel() > LogLevelValues.info) return;
    this.beginLine();
    line.text(side);
    line.text(" connection closed (peer: ");
    line.text(peerEnd(peer));
    line.send(LogLevelValues.info);
  }

  private logData(hostLevel: LogLevelValues, direction: string, data: StreamData, end: bool): void {
    const size = data.size;
    if (size > 0 && hostLevel <= LogLevelValues.info) {
      this.beginLine();
      line.text(direction);
      line.text(" data: ");
      line.decimal(size);
      line.text(" bytes");
      const budget = <usize>this.plugin.settings.payloadPreviewBytes;
      if (budget > 0) {
        // Only the preview crosses into wasm memory, never the whole chunk.
        const shown = data.read(0, size < budget ? size : budget, preview).bytes;
        line.text(": ");
        line.escaped(shown);
        const leftOut = size - <usize>shown.byteLength;
        if (leftOut > 0) line.omitted(leftOut);
        preview.release();
      }
      line.send(LogLevelValues.info);
    }
    if (end && hostLevel <= LogLevelValues.debug) {
      this.beginLine();
      line.text(direction);
      line.text(" end of stream");
      line.send(LogLevelValues.debug);
    }
  }
}
