// One scripted connection through the filter under test, on the local host's own filter chain
// (host/net/connection/filter-chain.ts): the calls Envoy's network side makes, in the order a test chooses,
// and a record of what came out of the chain — the bytes passed on each way after the filter's
// edits, whether the filter closed the connection or holds bytes in the read buffer, and whether
// tcp_proxy, the chain's last filter (a recording one here), would have connected upstream. As
// in Envoy's filter manager, once the filter has closed the connection nothing passes any more.

import { FilterChain } from "../net/connection/filter-chain.ts";
import { canonicalIpText } from "../net/ip-text.ts";
import type { ByteBuffer } from "../buffer.ts";
import type {
  ClusterInfo,
  ConnectionFilter,
  ConnectionInfo,
  Endpoint,
  FilterConnection,
  FilterFactory,
  FilterStatus,
  ReadFilter,
  UpstreamHostInfo,
} from "../wasm/api.ts";

/** Who the client is: what proxy_get_property answers for source.* and destination.*. */
export interface ConnectionOptions {
  /**
   * the client's address and port; null for none (source.* NotFound). 127.0.0.1:4660 by default.
   * An IPv6 address reads as Envoy writes it (`FD00:0:0::7` as `fd00::7`), here and below.
   */
  source?: Endpoint | null;
  /** the listener's address the client reached; null for none. 127.0.0.1:18000 by default */
  destination?: Endpoint | null;
  /** the listener's name; "tcp_listener" by default */
  listenerName?: string;
  /**
   * keep every chunk the filter passes on (events, upstreamBytes, clientBytes); true by default.
   * Without it only the byte counts are kept, for tests that push many large chunks.
   */
  record?: boolean;
}

/** What the filter passed on, in order. */
export type Forwarded =
  | { kind: "upstream" | "client"; data: Uint8Array; endOfStream: boolean }
  | { kind: "close" };

const DEFAULT_SOURCE: Endpoint = { address: "127.0.0.1", port: 4660 };
const DEFAULT_DESTINATION: Endpoint = { address: "127.0.0.1", port: 18000 };
const NO_BYTES = new Uint8Array(0);

export class TestConnection {
  /** the filter's context id in its VM (the `connection <id>` a filter may log) */
  readonly contextId: number | undefined;
  /** what the filter passed on before it closed the connection, and the close, in order (`events` as text) */
  readonly forwarded: Forwarded[] = [];
  /** bytes the filter passed on towards the upstream, and towards the client */
  readonly bytesForwarded = { upstream: 0, client: 0 };
  /** what the filter answered proxy_on_new_connection; undefined until newConnection() */
  newConnectionStatus: FilterStatus | undefined;
  /** the filter closed the connection (proxy_close_stream, or its VM failed): reported once */
  closed = false;
  /**
   * tcp_proxy after the filter has had its new connection, so it connects upstream: the filter
   * answered Continue to the new connection, or continued later (by passing bytes on, or by
   * proxy_continue_stream), before it closed the connection.
   */
  upstreamStarted = false;
  private readonly info: ConnectionInfo;
  private readonly chain: FilterChain;
  private readonly filter: StatusRecorder;
  private readonly record: boolean;
  /** the client's end of stream has reached tcp_proxy */
  private endOfStreamPassed = false;
  /** the upstream's end of stream has been written */
  private upstreamEnded = false;

  /** A connection to a filter of `factory`: a FilterUnderTest, or a plugin from startWasmPlugin. */
  constructor(factory: FilterFactory, options: ConnectionOptions = {}) {
    this.record = options.record ?? true;
    this.info = { listenerName: options.listenerName ?? "tcp_listener" };
    const source = options.source === undefined ? DEFAULT_SOURCE : options.source;
    const destination = options.destination === undefined ? DEFAULT_DESTINATION : options.destination;
    if (source !== null) this.info.source = heldByEnvoy(source);
    if (destination !== null) this.info.destination = heldByEnvoy(destination);
    let filter: StatusRecorder | undefined;
    const recording: FilterFactory = {
      createFilter: (info, callbacks) => (filter = new StatusRecorder(factory.createFilter(info, callbacks))),
    };
    this.chain = new FilterChain([recording], this.info, this.connection(), () => this.terminal);
    this.filter = filter!;
    this.contextId = this.filter.contextId;
  }

  // ---------------------------------------------------------------- what the network side calls

  /** proxy_on_context_create and proxy_on_new_connection: before tcp_proxy has picked a cluster. */
  newConnection(): FilterStatus {
    this.chain.initialize();
    this.newConnectionStatus = this.filter.last;
    return this.filter.last!;
  }

  /** tcp_proxy picked this cluster: xds.cluster_name and xds.cluster_metadata answer from here on. */
  clusterSelected(cluster: ClusterInfo): void {
    this.info.cluster = cluster;
  }

  /** tcp_proxy connected to this host: upstream.* and xds.upstream_host_metadata answer from here on. */
  upstreamConnected(host: UpstreamHostInfo): void {
    this.info.upstream = { ...host, address: heldByEnvoy(host.address) };
  }

  /**
   * Bytes from the client (proxy_on_downstream_data, with every byte the read buffer still
   * holds); an empty chunk with endOfStream is its FIN. The filter's answer; undefined when the
   * chain did not reach it (the connection is closed).
   */
  downstream(data: Uint8Array | string, endOfStream = false): FilterStatus | undefined {
    this.filter.last = undefined;
    this.chain.onRead(bytesOf(data), endOfStream);
    return this.filter.last;
  }

  /** The client's end of stream: 0 bytes with endOfStream. */
  downstreamEnd(): FilterStatus | undefined {
    return this.downstream(NO_BYTES, true);
  }

  /**
   * Bytes from the upstream (proxy_on_upstream_data); an empty chunk with endOfStream is its FIN,
   * which the filter hears as the upstream's close too (proxy_on_upstream_connection_close, as
   * Envoy reports it). The filter's answer; undefined when the chain did not reach it.
   */
  upstream(data: Uint8Array | string, endOfStream = false): FilterStatus | undefined {
    if (endOfStream) this.upstreamEnded = true;
    this.filter.last = undefined;
    const out = this.chain.onWrite(bytesOf(data), endOfStream);
    if (out !== null) this.pass("client", out, endOfStream);
    return this.filter.last;
  }

  /** The upstream's end of stream: 0 bytes with endOfStream. */
  upstreamEnd(): FilterStatus | undefined {
    return this.upstream(NO_BYTES, true);
  }

  /**
   * The upstream closed: its end of stream, unless it came already. Envoy tells a filter of the
   * upstream's close only with the end of stream (proxy_on_upstream_connection_close, peer type
   * Unknown).
   */
  upstreamClose(): void {
    if (!this.upstreamEnded) this.upstreamEnd();
  }

  /**
   * The downstream connection closed: proxy_on_downstream_connection_close with this peer type,
   * then proxy_on_done, proxy_on_log and proxy_on_delete. The connection's last call.
   */
  close(peer: "local" | "remote"): void {
    this.chain.onDownstreamClose(peer);
  }

  // ---------------------------------------------------------------- what the filter did

  /**
   * The filter answered StopIteration to downstream bytes and has not passed them on since:
   * the read buffer holds bytes, or the end of stream, that tcp_proxy has not had.
   */
  get holdingDownstream(): boolean {
    return this.chain.readBuffer.length > 0 || (this.chain.readEndOfStream && !this.endOfStreamPassed);
  }

  /** The bytes the read buffer holds for the filter (after StopIteration), as the filter left them. */
  get heldBytes(): Buffer {
    return Buffer.from(this.chain.readBuffer.bytes);
  }

  /**
   * `forwarded` as text, one entry each: `to upstream "<bytes as UTF-8>"`, `to client "..."`,
   * either with ` eos` when it carried the end of stream, and `close downstream`.
   */
  get events(): string[] {
    return this.forwarded.map((entry) => {
      if (entry.kind === "close") return "close downstream";
      const to = entry.kind === "upstream" ? "to upstream" : "to client";
      return `${to} "${Buffer.from(entry.data).toString()}"${entry.endOfStream ? " eos" : ""}`;
    });
  }

  /** Every byte passed on towards the upstream, in order. */
  get upstreamBytes(): Buffer {
    return this.joined("upstream");
  }

  /** Every byte passed on towards the client, in order. */
  get clientBytes(): Buffer {
    return this.joined("client");
  }

  private joined(kind: "upstream" | "client"): Buffer {
    if (!this.record) throw new Error("this connection keeps no bytes: it was accepted with record: false");
    return Buffer.concat(this.forwarded.flatMap((entry) => (entry.kind === kind ? [entry.data] : [])));
  }

  /** The connection as the chain and the filter see it: open until the filter closes it, once. */
  private connection(): FilterConnection {
    const test = this;
    return {
      get open() {
        return !test.closed;
      },
      close() {
        if (test.closed) return;
        test.closed = true;
        test.forwarded.push({ kind: "close" });
      },
    };
  }

  private pass(kind: "upstream" | "client", data: Uint8Array, endOfStream: boolean): void {
    this.bytesForwarded[kind] += data.length;
    if (this.record) this.forwarded.push({ kind, data, endOfStream });
  }

  /**
   * tcp_proxy, recording: its new connection is where it would connect, and it takes the whole
   * read buffer. It stands for one whose upstream connects at once, so the bytes that reached it
   * go on in the same walk.
   */
  private readonly terminal: ReadFilter = {
    onNewConnection: () => {
      this.upstreamStarted = true;
      return "Continue";
    },
    onData: (buffer: ByteBuffer, endOfStream: boolean) => {
      const data = buffer.take();
      // the end of stream stays with the read buffer (Envoy): tcp_proxy ends its upstream once
      if (data.length === 0 && this.endOfStreamPassed) return "StopIteration";
      if (endOfStream) this.endOfStreamPassed = true;
      this.pass("upstream", data, endOfStream);
      return "StopIteration";
    },
  };
}

/** The filter under test, with its last answer kept for the test. */
class StatusRecorder implements ConnectionFilter {
  last: FilterStatus | undefined;

  constructor(private readonly filter: ConnectionFilter) {}

  get contextId(): number | undefined {
    return this.filter.contextId;
  }
  onNewConnection(): FilterStatus {
    return (this.last = this.filter.onNewConnection());
  }
  onData(data: ByteBuffer, endOfStream: boolean): FilterStatus {
    return (this.last = this.filter.onData(data, endOfStream));
  }
  onWrite(data: ByteBuffer, endOfStream: boolean): FilterStatus {
    return (this.last = this.filter.onWrite(data, endOfStream));
  }
  onDownstreamClose(peer: "local" | "remote"): void {
    this.filter.onDownstreamClose(peer);
  }
}

/**
 * An address as the filter reads it in Envoy, which writes an IPv6 address it holds in inet_ntop's
 * form (`FD00:0:0::7` is `fd00::7`); an IPv4 one, or one that is no IP address, as given.
 */
function heldByEnvoy(endpoint: Endpoint): Endpoint {
  return { address: canonicalIpText(endpoint.address), port: endpoint.port };
}

function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? Buffer.from(data) : data;
}
