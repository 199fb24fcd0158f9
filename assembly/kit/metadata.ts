// Envoy's per-cluster and per-host properties: `filter_metadata.<namespace>` of the upstream
// cluster or host, and the cluster's name, each read under the name the host answers (`xds.*`
// from Envoy 1.25, the top-level names until 1.32, docs/envoy-host.md §5), and metadata values
// written into log lines within a byte budget.

import { WasmResultValues } from "@solo-io/proxy-runtime/runtime";
import { compareEscaped } from "./escape";
import { HostBytes, resultName } from "./host";
import * as line from "./logline";
import { decodePairs, isPairs, Pair, readProperty } from "./properties";

/** A property Envoy has under two names: `xds.<name>` (Envoy >= 1.25) and `<name>` (Envoy <= 1.32). */
export class VersionedProperty {
  /** the names for the log, e.g. `xds.cluster_metadata` and `cluster_metadata` */
  currentName: string;
  legacyName: string;
  /** the paths, segments joined by NUL, encoded once */
  currentPath: ArrayBuffer;
  legacyPath: ArrayBuffer;

  /** `name` without `xds.`, and the path's segments after it (`\0filter_metadata\0<namespace>`) */
  constructor(name: string, rest: string) {
    this.currentName = "xds." + name;
    this.legacyName = name;
    this.currentPath = String.UTF8.encode("xds\0" + name + rest);
    this.legacyPath = String.UTF8.encode(name + rest);
  }
}

const NO_BYTES = new ArrayBuffer(0);

/**
 * What one read of a VersionedProperty found: the bytes, and each name tried with its result.
 * PropertyNaming#read fills one given to it, as HostBytes are filled.
 */
export class VersionedRead {
  property: VersionedProperty | null = null;
  triedCurrent: bool = false;
  currentResult: WasmResultValues = WasmResultValues.Ok;
  triedLegacy: bool = false;
  legacyResult: WasmResultValues = WasmResultValues.Ok;
  /** the value when one name answered Ok; empty otherwise */
  bytes: ArrayBuffer = NO_BYTES;
  ok: bool = false;

  /** Lets the bytes go, as HostBytes#release. */
  release(): void {
    this.bytes = NO_BYTES;
  }

  /** Starts a read of `property`: nothing tried yet. */
  begin(property: VersionedProperty): VersionedRead {
    this.property = property;
    this.triedCurrent = false;
    this.triedLegacy = false;
    this.bytes = NO_BYTES;
    this.ok = false;
    return this;
  }

  /** Appends the names tried and their results, e.g. `xds.cluster_metadata: NotFound, cluster_metadata: NotFound`. */
  appendAttempts(): void {
    const property = this.property;
    if (property === null) return;
    if (this.triedCurrent) {
      line.text(property.currentName);
      line.text(": ");
      line.text(resultName(this.currentResult));
    }
    if (this.triedCurrent && this.triedLegacy) line.text(", ");
    if (this.triedLegacy) {
      line.text(property.legacyName);
      line.text(": ");
      line.text(resultName(this.legacyResult));
    }
  }
}

const UNKNOWN = 0;
const CURRENT = 1;
const LEGACY = 2;

/**
 * Which of the two names the host answers. Until it is known, the current name is read first and
 * the legacy one when the current one is NotFound. The first name that answers Ok settles it for
 * every property read through this object: a host that answers one `xds.*` name is Envoy >= 1.25,
 * where the legacy names say nothing more (1.25 to 1.32 answer both alike, 1.33 only `xds.*`);
 * one that answers a legacy name where the `xds.*` one was NotFound is Envoy <= 1.24, which has no
 * `xds.*`. So a property that is absent costs one read, not two, once the host is known.
 */
export class PropertyNaming {
  private names: i32 = UNKNOWN;
  /** what the host answered last */
  private answer: HostBytes = new HostBytes();

  /** Reads `property` into `into` (see HostBytes). */
  read(property: VersionedProperty, into: VersionedRead = new VersionedRead()): VersionedRead {
    const found = into.begin(property);
    if (this.names != LEGACY) {
      const current = readProperty(property.currentPath, this.answer);
      found.triedCurrent = true;
      found.currentResult = current.result;
      if (current.ok) {
        this.names = CURRENT;
        found.bytes = current.bytes;
        found.ok = true;
        current.release();
        return found;
      }
      if (this.names == CURRENT || current.result != WasmResultValues.NotFound) return found;
    }
    const legacy = readProperty(property.legacyPath, this.answer);
    found.triedLegacy = true;
    found.legacyResult = legacy.result;
    if (legacy.ok) {
      this.names = LEGACY;
      found.bytes = legacy.bytes;
      found.ok = true;
    }
    legacy.release();
    return found;
  }
}

/**
 * The metadata namespace of a configuration and what reading it needs, built when the plugin is
 * configured rather than per connection. Only the paths are kept, never metadata values: those
 * can change with any xDS update.
 */
export class MetadataNamespace {
  /** the namespace as UTF-8, for log lines (shown within a budget) */
  name: ArrayBuffer;
  cluster: VersionedProperty;
  host: VersionedProperty;

  constructor(namespace: string) {
    this.name = String.UTF8.encode(namespace);
    this.cluster = new VersionedProperty("cluster_metadata", "\0filter_metadata\0" + namespace);
    this.host = new VersionedProperty("upstream_host_metadata", "\0filter_metadata\0" + namespace);
  }
}

/** The entries of a metadata map, sorted by key, or why the value is not a map. */
export class MetadataEntries {
  entries: Pair[] = [];
  /** empty when the value is a map */
  malformed: string = "";
}

/** The order of two keys as they read in the log: by their escapes. */
function byKey(a: Pair, b: Pair): i32 {
  return compareEscaped(changetype<usize>(a.key), a.key.byteLength, changetype<usize>(b.key), b.key.byteLength);
}

/** The entries of a `filter_metadata.<namespace>` value, sorted by key. */
export function metadataEntries(value: ArrayBuffer): MetadataEntries {
  const found = new MetadataEntries();
  const decoded = decodePairs(value);
  if (decoded.error.length > 0) {
    found.malformed = decoded.error;
    return found;
  }
  found.entries = decoded.pairs.sort(byKey);
  return found;
}

/**
 * How much of one metadata value is still shown: the strings of a value (a map's keys and values,
 * at any depth) share one budget of bytes; the first that does not fit is cut, and everything
 * after it is only counted, to say how much was left out.
 */
class ValueBudget {
  left: usize;
  /** a string did not fit: nothing more is shown */
  stopped: bool = false;
  omitted: u64 = 0;
  /** `, ` or `: ` owed before the next string, written only if the string is */
  separator: string = "";

  constructor(budget: usize) {
    this.left = budget;
  }

  /** Shows `size` bytes at `pointer` escaped, or as much as the budget holds. */
  string(pointer: usize, size: usize): void {
    if (this.stopped) {
      this.omitted += size;
      return;
    }
    const shown = min(size, this.left);
    if (shown < size && shown == 0) {
      this.stop(size);
      return;
    }
    this.flush();
    line.escapedAt(pointer, shown);
    this.left -= shown;
    if (shown < size) this.stop(size - shown);
  }

  /** Writes `text` (braces) unless the value is cut already. */
  text(text: string): void {
    if (this.stopped) return;
    this.flush();
    line.text(text);
  }

  private stop(omitted: usize): void {
    this.stopped = true;
    this.omitted += omitted;
  }

  private flush(): void {
    if (this.separator.length == 0) return;
    line.text(this.separator);
    this.separator = "";
  }
}

/**
 * Appends a metadata value: maps arrive in the pairs encoding and lists as pairs with empty
 * values, so a nested value is shown as `{key: value, ...}` in the order the host encoded it, an
 * entry with an empty value as its key alone (the list [a, b] reads `{a, b}`). Anything else is
 * shown as its escaped bytes (a number arrives as the 8 bytes of a double). At most `budget` bytes
 * of its strings are shown; then ` ... (+N bytes)` says how many bytes of strings were left out.
 */
export function appendMetadataValue(value: ArrayBuffer, budget: usize): void {
  const shown = new ValueBudget(budget);
  appendValueAt(changetype<usize>(value), value.byteLength, shown);
  if (shown.omitted > 0) line.omitted(shown.omitted);
}

function appendValueAt(pointer: usize, size: usize, shown: ValueBudget): void {
  if (!isPairs(pointer, size)) {
    shown.string(pointer, size);
    return;
  }
  const count = <usize>load<u32>(pointer);
  let at = pointer + 4 + count * 8;
  shown.text("{");
  for (let i: usize = 0; i < count; i++) {
    const keyLength = <usize>load<u32>(pointer + 4 + i * 8);
    const valueLength = <usize>load<u32>(pointer + 8 + i * 8);
    if (i > 0) shown.separator = ", ";
    shown.string(at, keyLength);
    at += keyLength + 1;
    if (valueLength > 0) {
      shown.separator = ": ";
      appendValueAt(at, valueLength, shown);
    }
    at += valueLength + 1;
  }
  shown.separator = "";
  shown.text("}");
}
