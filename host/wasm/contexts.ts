// The contexts of one VM (docs/envoy-host.md §2–3): a root context, then one context per connection.
// Ids count from 1 per VM (0 is the VM itself) and are never reused.

import type { ConnectionFacts, PropertyScope } from "./properties.ts";

/** What a connection context may ask of its connection (proxy_continue_stream / proxy_close_stream). */
export interface StreamControl {
  continueDownstream(): void;
  closeDownstream(): void;
}

export class RootContext {
  readonly kind = "root";
  /** the VmConfiguration buffer: present only during proxy_on_vm_start */
  vmConfiguration: Uint8Array | null = null;
  /** the PluginConfiguration buffer: present only during proxy_on_configure */
  pluginConfiguration: Uint8Array | null = null;
  constructor(readonly id: number) {}
}

export class ConnectionContext {
  readonly kind = "connection";
  /** the downstream read buffer the filter holds: set during proxy_on_downstream_data and while retained */
  downstreamData: Uint8Array | null = null;
  /** the upstream write buffer: set during proxy_on_upstream_data */
  upstreamData: Uint8Array | null = null;
  /** values stored by proxy_set_property, by path */
  readonly setProperties = new Map<string, Uint8Array>();
  constructor(
    readonly id: number,
    readonly rootId: number,
    /** what proxy_get_property answers from; its facts fill in as tcp_proxy learns them */
    readonly properties: PropertyScope & { connection: ConnectionFacts },
    readonly stream: StreamControl,
  ) {}
}

export type Context = RootContext | ConnectionContext;

export class ContextIds {
  private next = 1;
  take(): number {
    return this.next++;
  }
}
