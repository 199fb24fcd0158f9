// The filters of one connection, driven as Envoy's filter manager drives them
// (FilterManagerImpl, source/common/network/filter_manager_impl.cc; docs/envoy-host.md §3). It
// owns the connection's read buffer: a read adds to it, and it goes through the read filters in
// order, tcp_proxy last. A filter that answers Continue passes it on; one that answers
// StopIteration keeps it where it is, with whatever it did not consume, and the next read
// starts again at the first filter, which then sees every byte not passed on. A filter's
// continueReading() resumes the walk after it. Each filter gets its new connection once, the
// first time the walk reaches it. Writes to the client go through the filters last to first.
// The walk stops at the first filter after which the connection is no longer open.

import { ByteBuffer } from "../../buffer.ts";
import type {
  ConnectionFilter,
  ConnectionInfo,
  FilterConnection,
  FilterFactory,
  ReadFilter,
  ReadFilterCallbacks,
} from "../../wasm/api.ts";

/** A read filter in the walk, and whether it has had its new connection (Envoy's ActiveReadFilter). */
interface ActiveReadFilter {
  readonly filter: ReadFilter;
  initialized: boolean;
}

export class FilterChain {
  /** the connection's read buffer: every byte read and not yet passed on by the filters */
  readonly readBuffer = new ByteBuffer();
  /** the client's end of stream has been read; it goes with the buffer from then on, as in Envoy */
  private endOfStream = false;
  /** the filters ahead of the terminal, in chain order */
  private readonly filters: ConnectionFilter[];
  private readonly readFilters: ActiveReadFilter[];

  /**
   * `terminal` is the chain's last read filter (tcp_proxy), made once the filters ahead of it
   * exist, with the callbacks it is to use.
   */
  constructor(
    factories: readonly FilterFactory[],
    info: ConnectionInfo,
    private readonly connection: FilterConnection,
    terminal: (callbacks: ReadFilterCallbacks) => ReadFilter,
  ) {
    this.filters = factories.map((factory, index) => factory.createFilter(info, this.callbacksOf(index)));
    const all: ReadFilter[] = [...this.filters, terminal(this.callbacksOf(factories.length))];
    this.readFilters = all.map((filter) => ({ filter, initialized: false }));
  }

  /** The client's end of stream has been read (it stays with the read buffer). */
  get readEndOfStream(): boolean {
    return this.endOfStream;
  }

  /** Envoy's initializeReadFilters: the new connections, in order, until one holds the chain. */
  initialize(): void {
    this.continueFrom(0);
  }

  /** Bytes read from the client (0 bytes with endOfStream for its FIN): the walk from the first filter. */
  onRead(data: Uint8Array, endOfStream: boolean): void {
    this.readBuffer.add(data);
    if (endOfStream) this.endOfStream = true;
    this.continueFrom(0);
  }

  /**
   * Bytes on their way to the client, through the filters last to first (Envoy's onWrite): what
   * they make of them; null when the connection is no longer open. Holding upstream data is not
   * supported (docs/envoy-host.md §3): the bytes go on whatever a filter answers.
   */
  onWrite(data: Uint8Array, endOfStream: boolean): Uint8Array | null {
    if (!this.connection.open) return null;
    const buffer = new ByteBuffer(data);
    for (let i = this.filters.length - 1; i >= 0; i--) {
      this.filters[i].onWrite(buffer, endOfStream);
      if (!this.connection.open) return null;
    }
    return buffer.take();
  }

  /** The downstream connection closed: each filter hears it, in order, and ends. */
  onDownstreamClose(peer: "local" | "remote"): void {
    for (const filter of this.filters) filter.onDownstreamClose(peer);
  }

  private callbacksOf(index: number): ReadFilterCallbacks {
    return {
      connection: this.connection,
      continueReading: () => this.continueFrom(index + 1),
    };
  }

  /** Envoy's onContinueReading: the walk from the read filter at `start`. */
  private continueFrom(start: number): void {
    const connection = this.connection;
    if (!connection.open) return;
    for (let i = start; i < this.readFilters.length; i++) {
      const entry = this.readFilters[i];
      if (!entry.initialized) {
        entry.initialized = true;
        if (entry.filter.onNewConnection() === "StopIteration" || !connection.open) return;
      }
      const buffer = this.readBuffer;
      if (buffer.length === 0 && !this.endOfStream) continue;
      if (entry.filter.onData(buffer, this.endOfStream) === "StopIteration" || !connection.open) return;
    }
  }
}
