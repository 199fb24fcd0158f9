// The logger's connection: logs what one TCP connection does and counts it once when done.
// Each callback asks the host's log level once and builds only the lines the host will print,
// with the property reads and previews only those lines need; metrics are kept whatever the level.

import { FilterStatusValues, LogLevelValues, PeerTypeValues } from "@solo-io/proxy-runtime/runtime";
import { Connection } from "../kit/connection";
import { currentTimeNanoseconds, resultName } from "../kit/host";
import { logLevel } from "../kit/log";
import * as line from "../kit/logline";
import { appendMetadataValue, FilterMetadata, readFilterMetadata } from "../kit/metadata";
import { readProperty } from "../kit/properties";
import { StreamData } from "../kit/stream";
import { LoggerPlugin } from "./plugin";

const SOURCE_ADDRESS = String.UTF8.encode("source\0address");
const UPSTREAM_ADDRESS = String.UTF8.encode("upstream\0address");

function peerName(peer: PeerTypeValues): string {
  if (peer == PeerTypeValues.Local) return "local";
  if (peer == PeerTypeValues.Remote) return "remote";
  return "unknown";
}

export class LoggerConnection extends Connection {
  private plugin: LoggerPlugin;
  private opened: bool = false;
  private openedAt: u64 = 0;
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
    // Read whatever the level: the done line needs it if info is turned on before the end.
    this.openedAt = currentTimeNanoseconds();
    this.plugin.metrics.connectionOpened();
    if (logLevel() > LogLevelValues.info) return FilterStatusValues.Continue;
    const source = readProperty(SOURCE_ADDRESS);
    this.beginLine();
    line.text("new connection from ");
    if (source.ok) line.escaped(source.bytes);
    else line.text("unknown");
    line.send(LogLevelValues.info);
    return FilterStatusValues.Continue;
  }

  // proxy_on_downstream_data. The logger always continues: every byte is new (`received`).
  onDownstreamData(size: usize, end: bool): FilterStatusValues {
    const received = this.downstream.received;
    if (received > 0) {
      this.downstreamBytes += received;
      this.plugin.metrics.downstreamData(received);
    }
    this.logData(logLevel(), "downstream", this.downstream, end);
    return FilterStatusValues.Continue;
  }

  // proxy_on_upstream_data
  onUpstreamData(size: usize, end: bool): FilterStatusValues {
    const hostLevel = logLevel();
    if (!this.upstreamDescribed) {
      this.upstreamDescribed = true;
      this.describeUpstream(hostLevel);
    }
    const received = this.upstream.received;
    if (received > 0) {
      this.upstreamBytes += received;
      this.plugin.metrics.upstreamData(received);
    }
    this.logData(hostLevel, "upstream", this.upstream, end);
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

  // proxy_on_done: the dispatcher calls it once, however often Envoy does.
  onDone(): void {
    this.plugin.metrics.connectionDone(this.opened);
    if (logLevel() > LogLevelValues.info) return;
    this.beginLine();
    line.text("done: ");
    line.decimal(this.downstreamBytes);
    line.text(" bytes from downstream, ");
    line.decimal(this.upstreamBytes);
    line.text(" bytes from upstream, ");
    line.decimal(this.elapsedMilliseconds());
    line.text(" ms");
    line.send(LogLevelValues.info);
  }

  private elapsedMilliseconds(): u64 {
    if (!this.opened) return 0;
    const now = currentTimeNanoseconds();
    return now > this.openedAt ? (now - this.openedAt) / 1000000 : 0;
  }

  private logClose(side: string, peer: PeerTypeValues): void {
    if (logLevel() > LogLevelValues.info) return;
    this.beginLine();
    line.text(side);
    line.text(" connection closed (peer: ");
    line.text(peerName(peer));
    line.text(")");
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
        const shown = data.read(0, size < budget ? size : budget).bytes;
        line.text(": ");
        line.escaped(shown);
        const leftOut = size - <usize>shown.byteLength;
        if (leftOut > 0) {
          line.text(" ... (+");
          line.decimal(leftOut);
          line.text(" bytes)");
        }
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

  /**
   * The upstream address and metadata, logged once, before the first upstream data, at the level
   * of that moment: at warn only the warnings (the reads stay, to find them), above warn nothing
   * is read. A connection whose first upstream data came while info was off is not described
   * when info is turned on later: the description belongs before that first data (later it would
   * sit among data lines), and at warn its warnings were given then.
   */
  private describeUpstream(hostLevel: LogLevelValues): void {
    if (hostLevel > LogLevelValues.warn) return;
    const address = readProperty(UPSTREAM_ADDRESS);
    if (!address.ok) {
      this.beginLine();
      line.text("upstream address unavailable: ");
      line.text(resultName(address.result));
      line.send(LogLevelValues.warn);
    } else if (hostLevel <= LogLevelValues.info) {
      this.beginLine();
      line.text("upstream address: ");
      line.escaped(address.bytes);
      line.send(LogLevelValues.info);
    }
    const metadata = this.plugin.metadata;
    // Entries are info lines: when info is not shown they are not even kept.
    const withEntries = hostLevel <= LogLevelValues.info;
    // A cluster without the namespace is worth a warning; a host without it is the usual case.
    this.logMetadata(hostLevel, "cluster", readFilterMetadata(metadata.cluster, withEntries), LogLevelValues.warn);
    this.logMetadata(hostLevel, "host", readFilterMetadata(metadata.host, withEntries), LogLevelValues.debug);
  }

  /** Logs each entry of `kind` (cluster or host) metadata, or why there are none, as far as `hostLevel` shows. */
  private logMetadata(hostLevel: LogLevelValues, kind: string, metadata: FilterMetadata, missingLevel: LogLevelValues): void {
    const namespace = this.plugin.metadata.shown;
    if (!metadata.found) {
      if (hostLevel > missingLevel) return;
      this.beginLine();
      line.text("no upstream ");
      line.text(kind);
      line.text(" metadata \"");
      line.text(namespace);
      line.text("\" (");
      metadata.appendAttempts();
      line.text(")");
      line.send(missingLevel);
      return;
    }
    if (metadata.malformed.length > 0) {
      this.beginLine();
      line.text("malformed ");
      line.text(kind);
      line.text(" metadata \"");
      line.text(namespace);
      line.text("\": ");
      line.text(metadata.malformed);
      line.send(LogLevelValues.warn);
      return;
    }
    for (let i = 0; i < metadata.entries.length; i++) {
      const entry = metadata.entries[i];
      this.beginLine();
      line.text("upstream ");
      line.text(kind);
      line.text(" metadata ");
      line.text(namespace);
      line.text(".");
      line.text(entry.key);
      line.text(": ");
      appendMetadataValue(entry.value);
      line.send(LogLevelValues.info);
    }
  }
}
