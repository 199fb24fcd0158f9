// What the logger says about a connection's upstream, once, before its first upstream data: at
// info the upstream address and every entry of the cluster's and the host's metadata namespace;
// at warning only whether the cluster lacks its metadata, rate-limited per cluster.
//
// The cluster warning (missing or malformed metadata) is logged for the 1st, 2nd, 4th, 8th...
// connection that finds it, per cluster and VM, with the number left out since the last one
// (EveryPowerOfTwo). At info every connection reads the cluster's metadata anyway, for its lines;
// at warning a cluster found to have it is not read again, and one found lacking it is read again
// only at those same points: if it has appeared by then, the cluster counts as fine from then on.

import {
  appendMetadataValue, Connection, HostBytes, isPairs, line, LogLevelValues, metadataEntries, MetadataNamespace, Pair, PropertyNaming, readProperty, resultName, VersionedProperty, VersionedRead,
} from "../kit";
import { ClusterCheck, ClusterChecks } from "./clusters";

const UPSTREAM_ADDRESS = String.UTF8.encode("upstream\0address");
const CLUSTER_NAME = new VersionedProperty("cluster_name", "");

// What the host answers, filled in place: a VM describes one upstream at a time.
const address = new HostBytes();
const clusterRead = new VersionedRead();
const hostRead = new VersionedRead();
const nameRead = new VersionedRead();

/** The largest metadata value whose lines are kept, and the most bytes of lines kept for it. */
const MAX_KEPT_VALUE = 1024;
const MAX_KEPT_LINES = 4096;

/**
 * The info lines of one kind of metadata (without `connection <id>: `), kept with the value they
 * were made from: while the host returns the same bytes, the lines are logged again as they are,
 * and a changed value is shown as it is now. Only a small value is kept (location metadata is a
 * hundred bytes or so): a large one would hold memory between connections, and costs the host more
 * to send than the plugin to show.
 */
class RenderedMetadata {
  private value: ArrayBuffer = new ArrayBuffer(0);
  private rendered: bool = false;
  lines: ArrayBuffer[] = [];

  /** Whether `value` is the one the lines were made from. */
  holds(value: ArrayBuffer): bool {
    return this.rendered && value.byteLength == this.value.byteLength &&
      memory.compare(changetype<usize>(value), changetype<usize>(this.value), value.byteLength) == 0;
  }

  /** Whether lines made from `value` are to be kept; if not, what is kept goes. */
  keeps(value: ArrayBuffer): bool {
    if (value.byteLength <= MAX_KEPT_VALUE) return true;
    this.forget();
    return false;
  }

  /** Keeps `lines` for `value`, unless they are too long to keep. */
  keep(value: ArrayBuffer, lines: ArrayBuffer[]): void {
    let size = 0;
    for (let i = 0; i < lines.length; i++) size += lines[i].byteLength;
    if (size > MAX_KEPT_LINES) {
      this.forget();
      return;
    }
    this.value = value;
    this.lines = lines;
    this.rendered = true;
  }

  private forget(): void {
    this.value = new ArrayBuffer(0);
    this.lines = [];
    this.rendered = false;
  }
}

export class UpstreamDescription {
  private metadata: MetadataNamespace;
  /** bytes shown of the namespace, of a key, of a value */
  private previewBytes: usize;
  private naming: PropertyNaming = new PropertyNaming();
  private clusters: ClusterChecks = new ClusterChecks();
  private clusterLines: RenderedMetadata = new RenderedMetadata();
  private hostLines: RenderedMetadata = new RenderedMetadata();

  constructor(metadata: MetadataNamespace, previewBytes: usize) {
    this.metadata = metadata;
    this.previewBytes = previewBytes;
  }

  /** Logs what `hostLevel` shows of the upstream of `connection`, with the reads that needs. */
  describe(connection: Connection, hostLevel: LogLevelValues): void {
    if (hostLevel > LogLevelValues.warn) return;
    if (hostLevel == LogLevelValues.warn) this.checkCluster(connection);
    else this.describeAll(connection, hostLevel);
    // Nothing read is held until the next connection.
    clusterRead.release();
    hostRead.release();
    nameRead.release();
  }

  /** At info and below: the address, the cluster's and the host's metadata. */
  private describeAll(connection: Connection, hostLevel: LogLevelValues): void {
    this.logAddress(connection);
    const cluster = this.naming.read(this.metadata.cluster, clusterRead);
    if (this.logEntries(connection, cluster, "cluster", this.clusterLines)) {
      // Only a cluster known to lack its metadata needs its name: to stop warning about it.
      if (this.clusters.anyLacking) this.clusters.record(this.readClusterName().bytes, true);
    } else {
      this.clusterLacking(connection, this.readClusterName(), cluster);
    }
    const host = this.naming.read(this.metadata.host, hostRead);
    if (this.logEntries(connection, host, "host", this.hostLines)) return;
    // A host without the namespace is the usual case: that is a debug line, not a warning.
    if (host.ok || hostLevel <= LogLevelValues.debug) this.logLacking(connection, "host", host, null, null, LogLevelValues.debug);
  }

  private readClusterName(): VersionedRead {
    return this.naming.read(CLUSTER_NAME, nameRead);
  }

  /** At warning: reads the cluster's metadata only when it has never been read, or when its warning is due. */
  private checkCluster(connection: Connection): void {
    const name = this.readClusterName();
    const check = this.clusters.find(name.bytes);
    if (check !== null && check.found) return;
    if (check !== null && !check.problems.nextIsLogged) {
      check.problems.next();
      return;
    }
    const cluster = this.naming.read(this.metadata.cluster, clusterRead);
    if (cluster.ok && isPairs(changetype<usize>(cluster.bytes), cluster.bytes.byteLength)) {
      this.clusters.record(name.bytes, true);
      return;
    }
    this.clusterLacking(connection, name, cluster);
  }

  /** The cluster of `name` has no usable metadata in `cluster`: counted, and warned about when due. */
  private clusterLacking(connection: Connection, name: VersionedRead, cluster: VersionedRead): void {
    const check: ClusterCheck = this.clusters.record(name.bytes, false);
    if (!check.problems.next()) return;
    this.logLacking(connection, "cluster", cluster, name, check, LogLevelValues.warn);
  }

  private logAddress(connection: Connection): void {
    readProperty(UPSTREAM_ADDRESS, address);
    connection.beginLine();
    if (address.ok) {
      line.text("upstream address: ");
      line.escaped(address.bytes);
      line.send(LogLevelValues.info);
      address.release();
      return;
    }
    line.text("upstream address unavailable: ");
    line.text(resultName(address.result));
    line.send(LogLevelValues.warn);
  }

  /**
   * Logs one info line per entry of `read`'s metadata, sorted by key, if it was found and is a
   * map; returns false (and logs nothing) otherwise.
   */
  private logEntries(connection: Connection, read: VersionedRead, kind: string, rendered: RenderedMetadata): bool {
    if (!read.ok) return false;
    if (!rendered.holds(read.bytes)) {
      const found = metadataEntries(read.bytes);
      if (found.malformed.length > 0) return false;
      const keep = rendered.keeps(read.bytes);
      const lines = this.renderEntries(connection, kind, found.entries, keep);
      if (keep) rendered.keep(read.bytes, lines);
      return true;
    }
    const lines = rendered.lines;
    for (let i = 0; i < lines.length; i++) {
      connection.beginLine();
      line.bytes(lines[i]);
      line.send(LogLevelValues.info);
    }
    return true;
  }

  /** Logs `upstream <kind> metadata <namespace>.<key>: <value>` per entry; returns those lines if `keep`. */
  private renderEntries(connection: Connection, kind: string, entries: Pair[], keep: bool): ArrayBuffer[] {
    const lines: ArrayBuffer[] = [];
    const budget = this.previewBytes;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      connection.beginLine();
      const start = line.mark();
      line.text("upstream ");
      line.text(kind);
      line.text(" metadata ");
      line.preview(this.metadata.name, budget);
      line.text(".");
      line.preview(entry.key, budget);
      line.text(": ");
      appendMetadataValue(entry.value, budget);
      if (keep) lines.push(line.since(start));
      line.send(LogLevelValues.info);
    }
    return lines;
  }

  /**
   * `no upstream <kind> metadata "<namespace>" (<names tried>)` when it was not found, or
   * `malformed <kind> metadata "<namespace>": <why>` (a warning), naming the cluster and the
   * warnings left out since the last when `name` and `check` are given.
   */
  private logLacking(connection: Connection, kind: string, read: VersionedRead, name: VersionedRead | null, check: ClusterCheck | null, missingLevel: LogLevelValues): void {
    const malformed = read.ok ? metadataEntries(read.bytes).malformed : "";
    const level = read.ok ? LogLevelValues.warn : missingLevel;
    connection.beginLine();
    line.text(read.ok ? "malformed " : "no upstream ");
    line.text(kind);
    line.text(" metadata \"");
    line.preview(this.metadata.name, this.previewBytes);
    line.text("\"");
    if (name !== null) this.appendCluster(name);
    if (read.ok) {
      line.text(": ");
      line.text(malformed);
    } else {
      line.text(" (");
      read.appendAttempts();
      line.text(")");
    }
    if (check !== null && check.problems.suppressed > 0) {
      line.text("; ");
      line.decimal(check.problems.suppressed);
      line.text(" suppressed since the last");
    }
    line.send(level);
  }

  /** ` for cluster "<name>"`, when its name could be read. */
  private appendCluster(name: VersionedRead): void {
    if (!name.ok) return;
    line.text(" for cluster \"");
    line.preview(name.bytes, this.previewBytes);
    line.text("\"");
  }
}
