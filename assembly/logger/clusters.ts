// What one VM has learnt about the upstream clusters' metadata: which clusters have it, which lack
// it (or have it malformed) and how often their warning has come up since. This is what spares
// reading a cluster's metadata on every connection only to find whether to warn.

import { EveryPowerOfTwo } from "../kit";

/** Clusters remembered at most; past it, all are forgotten and learnt again. */
const MAX_CLUSTERS = 1024;

export class ClusterCheck {
  /** its metadata was found when last read */
  found: bool = false;
  /** connections that found it missing or malformed since it was last found */
  problems: EveryPowerOfTwo = new EveryPowerOfTwo();
}

export class ClusterChecks {
  private checks: Map<string, ClusterCheck> = new Map();
  /** the cluster looked up last, by the bytes of its name: connections mostly go to a few */
  private lastName: ArrayBuffer = new ArrayBuffer(0);
  private last: ClusterCheck | null = null;
  /** clusters whose metadata was missing or malformed when last read */
  private lacking: i32 = 0;

  /** Whether some cluster lacks its metadata: only then is a cluster's name worth reading at info. */
  get anyLacking(): bool {
    return this.lacking > 0;
  }

  /** The check of the cluster named `name` (UTF-8), or null when it has never been read. */
  find(name: ArrayBuffer): ClusterCheck | null {
    const last = this.last;
    if (last !== null && sameBytes(name, this.lastName)) return last;
    const key = String.UTF8.decode(name);
    if (!this.checks.has(key)) return null;
    const check = this.checks.get(key);
    this.remember(name, check);
    return check;
  }

  /** Records what a read of the metadata of cluster `name` found; returns its check. */
  record(name: ArrayBuffer, found: bool): ClusterCheck {
    let check = this.find(name);
    if (check === null) {
      if (this.checks.size >= MAX_CLUSTERS) this.forgetAll();
      check = new ClusterCheck();
      check.found = true;
      this.checks.set(String.UTF8.decode(name), check);
      this.remember(name, check);
    }
    if (found != check.found) this.lacking += found ? -1 : 1;
    check.found = found;
    if (found) check.problems.reset();
    return check;
  }

  private remember(name: ArrayBuffer, check: ClusterCheck): void {
    this.lastName = name;
    this.last = check;
  }

  private forgetAll(): void {
    this.checks.clear();
    this.last = null;
    this.lastName = new ArrayBuffer(0);
    this.lacking = 0;
  }
}

function sameBytes(a: ArrayBuffer, b: ArrayBuffer): bool {
  return a.byteLength == b.byteLength && memory.compare(changetype<usize>(a), changetype<usize>(b), a.byteLength) == 0;
}
