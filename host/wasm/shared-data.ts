// proxy_get_shared_data / proxy_set_shared_data: one key-value store for the whole process, with
// a separate area per vm_id (cpp-host src/shared_data.cc, `getGlobalSharedData`): every VM with
// the same vm_id (each worker of a plugin, and other plugins naming that vm_id) sees the same
// entries; different vm_ids never meet. The process's shared queues live beside it, and go with
// a vm_id's data when its last VM does. docs/envoy-host.md §20.

import { SharedQueues } from "./shared-queue.ts";

export interface SharedEntry {
  value: Uint8Array;
  cas: number;
}

/** cas numbers are u32 and 0 is never one (it means "no check"): after 2^32 - 1 comes 1. */
const CAS_LIMIT = 2 ** 32;

/** What the VMs of one vm_id see of the store. */
export interface VmSharedData {
  /** undefined: no such key (NotFound) */
  get(key: string): SharedEntry | undefined;
  /** false when `cas` is non-zero and the key exists with another cas (CasMismatch) */
  set(key: string, value: Uint8Array, cas: number): boolean;
}

export class SharedData {
  /** the process's shared queues (shared-queue.ts) */
  readonly queues = new SharedQueues();
  private readonly areas = new Map<string, Map<string, SharedEntry>>();
  /** the next cas handed out; cpp-host starts at 1 and counts one up per set, for every vm_id */
  private nextCas = 1;
  /** live holders per vm_id: cpp-host's VmIdHandle, one per Wasm of that vm_id */
  private readonly holders = new Map<string, number>();

  /** The store as the VMs of `vmId` see it. */
  of(vmId: string): VmSharedData {
    return {
      get: (key) => this.areas.get(vmId)?.get(key),
      set: (key, value, cas) => this.set(vmId, key, value, cas),
    };
  }

  /**
   * A plugin's VMs of `vmId` are alive until the returned release is called. When the last
   * holder of a vm_id lets go, its entries and queues are dropped (cpp-host
   * `VmIdHandle::~VmIdHandle` calls `SharedData::deleteByVmId` and `SharedQueue::deleteByVmId`).
   */
  hold(vmId: string): () => void {
    this.holders.set(vmId, (this.holders.get(vmId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.holders.get(vmId)! - 1;
      if (left > 0) {
        this.holders.set(vmId, left);
        return;
      }
      this.holders.delete(vmId);
      this.areas.delete(vmId);
      this.queues.deleteByVmId(vmId);
    };
  }

  /** A new key takes any cas; an existing one only 0 or its own. Either way it gets a fresh cas. */
  private set(vmId: string, key: string, value: Uint8Array, cas: number): boolean {
    let area = this.areas.get(vmId);
    if (area === undefined) {
      area = new Map();
      this.areas.set(vmId, area);
    }
    const entry = area.get(key);
    if (entry !== undefined && cas !== 0 && cas !== entry.cas) return false;
    area.set(key, { value, cas: this.takeCas() });
    return true;
  }

  private takeCas(): number {
    const cas = this.nextCas;
    this.nextCas = (cas + 1) % CAS_LIMIT || 1;
    return cas;
  }
}
