// proxy_register/resolve/enqueue/dequeue_shared_queue: named queues for the whole process, each
// known by its (vm_id, name) and by a token (cpp-host src/shared_queue.cc, `getGlobalSharedQueue`;
// docs/envoy-host.md §20). Any VM that has a token may enqueue and dequeue; the VM that
// registered the queue last hears of each enqueue, later, on its root context.

import { WasmResult } from "./abi.ts";

/** Tells the registering VM's root context that the queue has data (proxy_on_queue_ready). */
export type QueueReadyNotice = (token: number) => void;

interface Queue {
  notify: QueueReadyNotice;
  items: Uint8Array[];
}

/** Tokens are u32 and 0 is none (resolve's "not found"). */
const TOKEN_LIMIT = 2 ** 32;

export class SharedQueues {
  /** `${vm_id}\0${name}` → token */
  private readonly tokens = new Map<string, number>();
  private readonly queues = new Map<number, Queue>();
  /** vm_id → its queues' keys, for dropping them with the vm_id */
  private readonly keysByVmId = new Map<string, Set<string>>();
  private nextToken = 1;

  /**
   * The queue's token, new the first time (vm_id, name) is registered. A later registration
   * keeps the token and the data, and takes over the notices (cpp-host `registerQueue`).
   */
  register(vmId: string, name: string, notify: QueueReadyNotice): number {
    const key = queueKey(vmId, name);
    let token = this.tokens.get(key);
    if (token === undefined) {
      token = this.takeToken();
      this.tokens.set(key, token);
      let keys = this.keysByVmId.get(vmId);
      if (keys === undefined) this.keysByVmId.set(vmId, (keys = new Set()));
      keys.add(key);
    }
    const queue = this.queues.get(token);
    if (queue === undefined) this.queues.set(token, { notify, items: [] });
    else queue.notify = notify;
    return token;
  }

  /** The token of (vm_id, name); 0 when no VM registered it. */
  resolve(vmId: string, name: string): number {
    return this.tokens.get(queueKey(vmId, name)) ?? 0;
  }

  /** The oldest item; NotFound for an unknown token, Empty for an empty queue. */
  dequeue(token: number): Uint8Array | WasmResult {
    const queue = this.queues.get(token);
    if (queue === undefined) return WasmResult.NotFound;
    return queue.items.shift() ?? WasmResult.Empty;
  }

  /** Append, then notify the registering VM (which hears of it later); NotFound for an unknown token. */
  enqueue(token: number, value: Uint8Array): WasmResult {
    const queue = this.queues.get(token);
    if (queue === undefined) return WasmResult.NotFound;
    queue.items.push(value);
    queue.notify(token);
    return WasmResult.Ok;
  }

  /** The vm_id's last holder is gone: its queues, tokens and data with it (cpp-host `deleteByVmId`). */
  deleteByVmId(vmId: string): void {
    for (const key of this.keysByVmId.get(vmId) ?? []) {
      const token = this.tokens.get(key)!;
      this.queues.delete(token);
      this.tokens.delete(key);
    }
    this.keysByVmId.delete(vmId);
  }

  /** The next token from 1 up, skipping 0 and tokens in use (cpp-host `nextQueueToken`). */
  private takeToken(): number {
    for (;;) {
      const token = this.nextToken;
      this.nextToken = (token + 1) % TOKEN_LIMIT;
      if (token !== 0 && !this.queues.has(token)) return token;
    }
  }
}

function queueKey(vmId: string, name: string): string {
  return `${vmId}\0${name}`;
}
