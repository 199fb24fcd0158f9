// proxy_get_shared_data / proxy_set_shared_data: a key-value store shared by the VMs of one
// plugin, with compare-and-swap numbers.

export interface SharedEntry {
  value: Uint8Array;
  cas: number;
}

export class SharedData {
  private readonly entries = new Map<string, SharedEntry>();
  private lastCas = 0;

  get(key: string): SharedEntry | undefined {
    return this.entries.get(key);
  }

  /** false when `cas` is non-zero and not the entry's current one */
  set(key: string, value: Uint8Array, cas: number): boolean {
    const entry = this.entries.get(key);
    if (cas !== 0 && entry !== undefined && entry.cas !== cas) return false;
    this.entries.set(key, { value, cas: ++this.lastCas });
    return true;
  }
}
