// The per-connection context: logs what one TCP connection does and counts it once when done.

import {
  BufferTypeValues, Context, FilterStatusValues, log, LogLevelValues, PeerTypeValues,
} from "@solo-io/proxy-runtime/runtime";
import { currentTimeNanoseconds, readBufferBytes, resultName } from "./host";
import {
  CLUSTER_METADATA, FilterMetadata, HOST_METADATA, LEGACY_CLUSTER_METADATA, LEGACY_HOST_METADATA, readFilterMetadata,
} from "./metadata";
import { escapeBytes, escapePayload } from "./preview";
import { readProperty } from "./properties";
import { ConnectionLoggerRoot } from "./root";

function peerName(peer: PeerTypeValues): string {
  if (peer == PeerTypeValues.Local) return "local";
  if (peer == PeerTypeValues.Remote) return "remote";
  return "unknown";
}

export class TcpConnection extends Context {
  private plugin: ConnectionLoggerRoot;
  /** `connection <id>: `, built once */
  private prefix: string;
  private opened: bool = false;
  private openedAt: u64 = 0;
  private downstreamBytes: u64 = 0;
  private upstreamBytes: u64 = 0;
  private upstreamDescribed: bool = false;
  private finished: bool = false;

  constructor(context_id: u32, plugin: ConnectionLoggerRoot) {
    super(context_id, plugin);
    this.plugin = plugin;
    this.prefix = "connection " + context_id.toString() + ": ";
  }

  private logLine(level: LogLevelValues, message: string): void {
    log(level, this.prefix + message);
  }

  // proxy_on_new_connection: the cluster is not chosen yet, only the client is known.
  onNewConnection(): FilterStatusValues {
    this.opened = true;
    this.openedAt = currentTimeNanoseconds();
    this.plugin.metrics.connectionOpened();
    const source = readProperty("source\0address");
    const from = source.ok ? escapeBytes(source.bytes) : "unknown";
    this.logLine(LogLevelValues.info, "new connection from " + from);
    return FilterStatusValues.Continue;
  }

  // proxy_on_downstream_data
  onDownstreamData(size: usize, end: bool): FilterStatusValues {
    if (size > 0) {
      this.downstreamBytes += size;
      this.plugin.metrics.downstreamData(size);
    }
    this.logData("downstream", BufferTypeValues.NetworkDownstreamData, size, end);
    return FilterStatusValues.Continue;
  }

  // proxy_on_upstream_data
  onUpstreamData(size: usize, end: bool): FilterStatusValues {
    if (!this.upstreamDescribed) {
      this.upstreamDescribed = true;
      this.describeUpstream();
    }
    if (size > 0) {
      this.upstreamBytes += size;
      this.plugin.metrics.upstreamData(size);
    }
    this.logData("upstream", BufferTypeValues.NetworkUpstreamData, size, end);
    return FilterStatusValues.Continue;
  }

  // proxy_on_downstream_connection_close
  onDownstreamConnectionClose(peer: PeerTypeValues): void {
    this.logLine(LogLevelValues.info, "downstream connection closed (peer: " + peerName(peer) + ")");
  }

  // proxy_on_upstream_connection_close
  onUpstreamConnectionClose(peer: PeerTypeValues): void {
    this.logLine(LogLevelValues.info, "upstream connection closed (peer: " + peerName(peer) + ")");
  }

  // proxy_on_done: counts the connection once, however often it is called.
  onDone(): bool {
    if (this.finished) return true;
    this.finished = true;
    this.plugin.metrics.connectionDone(this.opened);
    this.logLine(LogLevelValues.info, "done: " + this.downstreamBytes.toString() + " bytes from downstream, " +
      this.upstreamBytes.toString() + " bytes from upstream, " + this.elapsedMilliseconds().toString() + " ms");
    return true;
  }

  private elapsedMilliseconds(): u64 {
    if (!this.opened) return 0;
    const now = currentTimeNanoseconds();
    return now > this.openedAt ? (now - this.openedAt) / 1000000 : 0;
  }

  private logData(direction: string, buffer: BufferTypeValues, size: usize, end: bool): void {
    if (size > 0) {
      const budget = <usize>this.plugin.settings.payloadPreviewBytes;
      let line = direction + " data: " + size.toString() + " bytes";
      if (budget > 0) {
        // Only the preview crosses into wasm memory, never the whole chunk.
        const shown = readBufferBytes(buffer, 0, <u32>(size < budget ? size : budget));
        line += ": " + escapePayload(shown.bytes, size);
      }
      this.logLine(LogLevelValues.info, line);
    }
    if (end) this.logLine(LogLevelValues.debug, direction + " end of stream");
  }

  /** The upstream address and metadata, logged once before the first upstream data. */
  private describeUpstream(): void {
    const address = readProperty("upstream\0address");
    if (address.ok) {
      this.logLine(LogLevelValues.info, "upstream address: " + escapeBytes(address.bytes));
    } else {
      this.logLine(LogLevelValues.warn, "upstream address unavailable: " + resultName(address.result));
    }
    const namespace = this.plugin.settings.metadataNamespace;
    const quotedNamespace = "\"" + escapeBytes(String.UTF8.encode(namespace)) + "\"";

    const cluster = readFilterMetadata(CLUSTER_METADATA, LEGACY_CLUSTER_METADATA, namespace);
    if (!cluster.found) {
      this.logLine(LogLevelValues.warn, "no upstream cluster metadata " + quotedNamespace + " (" + cluster.attempts + ")");
    } else if (cluster.malformed.length > 0) {
      this.logLine(LogLevelValues.warn, "malformed cluster metadata " + quotedNamespace + ": " + cluster.malformed);
    } else {
      this.logMetadata("upstream cluster metadata", cluster);
    }

    const host = readFilterMetadata(HOST_METADATA, LEGACY_HOST_METADATA, namespace);
    if (!host.found) {
      this.logLine(LogLevelValues.debug, "no upstream host metadata " + quotedNamespace + " (" + host.attempts + ")");
    } else if (host.malformed.length > 0) {
      this.logLine(LogLevelValues.warn, "malformed host metadata " + quotedNamespace + ": " + host.malformed);
    } else {
      this.logMetadata("upstream host metadata", host);
    }
  }

  private logMetadata(title: string, metadata: FilterMetadata): void {
    const namespace = escapeBytes(String.UTF8.encode(this.plugin.settings.metadataNamespace));
    for (let i = 0; i < metadata.entries.length; i++) {
      const entry = metadata.entries[i];
      this.logLine(LogLevelValues.info, title + " " + namespace + "." + entry.key + ": " + entry.value);
    }
  }
}
