// One scripted connection through the filter under test: the calls Envoy's network side makes,
// in the order a test chooses, and a record of what the filter did with them — the bytes it
// passed on each way after its edits, whether it closed the connection or holds bytes back, and
// whether tcp_proxy after it would have connected upstream. As in Envoy's filter manager, once
// the filter has closed the connection nothing it passes on goes anywhere.

import type {
  ClusterInfo,
  ConnectionInfo,
  Endpoint,
  FilterCallbacks,
  FilterFactory,
  FilterStatus,
  NetworkFilter,
  UpstreamHostInfo,
} from "../wasm/api.ts";
import { canonicalIpText } from "../net/ip-text.ts";

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
  /** the filter answered StopIteration to downstream bytes and has not passed them on since */
  holdingDownstream = false;
  private readonly filter: NetworkFilter;
  private readonly record: boolean;
  /** how often the filter has passed downstream bytes on */
  private passedOn = 0;

  /** A connection to a filter of `factory`: a FilterUnderTest, or a plugin from startWasmPlugin. */
  constructor(factory: FilterFactory, options: ConnectionOptions = {}) {
    this.record = options.record ?? true;
    const info: ConnectionInfo = { listenerName: options.listenerName ?? "tcp_listener" };
    const source = options.source === undefined ? DEFAULT_SOURCE : options.source;
    const destination = options.destination === undefined ? DEFAULT_DESTINATION : options.destination;
    if (source !== null) info.source = heldByEnvoy(source);
    if (destination !== null) info.destination = heldByEnvoy(destination);
    this.filter = factory.createFilter(info, this.callbacks());
    this.contextId = this.filter.contextId;
  }

  // ---------------------------------------------------------------- what the network side calls

  /** proxy_on_context_create and proxy_on_new_connection: before tcp_proxy has picked a cluster. */
  newConnection(): FilterStatus {
    const status = this.filter.onNewConnection();
    this.newConnectionStatus = status;
    if (status === "Continue") this.startUpstream();
    return status;
  }

  /** tcp_proxy picked this cluster: xds.cluster_name and xds.cluster_metadata answer from here on. */
  clusterSelected(cluster: ClusterInfo): void {
    this.filter.onClusterSelected(cluster);
  }

  /** tcp_proxy connected to this host: upstream.* and xds.upstream_host_metadata answer from here on. */
  upstreamConnected(host: UpstreamHostInfo): void {
    this.filter.onUpstreamConnected({ ...host, address: heldByEnvoy(host.address) });
  }

  /** Bytes from the client (proxy_on_downstream_data); an empty chunk with endOfStream is its FIN. */
  downstream(data: Uint8Array | string, endOfStream = false): FilterStatus {
    const passedOnBefore = this.passedOn;
    const status = this.filter.onDownstreamData(bytesOf(data), endOfStream);
    if (status !== "Continue" && this.passedOn === passedOnBefore) this.holdingDownstream = true;
    return status;
  }

  /** The client's end of stream: 0 bytes with endOfStream. */
  downstreamEnd(): FilterStatus {
    return this.downstream(NO_BYTES, true);
  }

  /** Bytes from the upstream (proxy_on_upstream_data); an empty chunk with endOfStream is its FIN. */
  upstream(data: Uint8Array | string, endOfStream = false): FilterStatus {
    return this.filter.onUpstreamData(bytesOf(data), endOfStream);
  }

  /** The upstream's end of stream: 0 bytes with endOfStream. */
  upstreamEnd(): FilterStatus {
    return this.upstream(NO_BYTES, true);
  }

  /** proxy_on_upstream_connection_close: Envoy reports it with peer type Unknown, after the upstream's FIN. */
  upstreamClose(): void {
    this.filter.onUpstreamClose();
  }

  /**
   * The downstream connection closed: proxy_on_downstream_connection_close with this peer type,
   * then proxy_on_done, proxy_on_log and proxy_on_delete. The connection's last call.
   */
  close(peer: "local" | "remote"): void {
    this.filter.onDownstreamClose(peer);
  }

  // ---------------------------------------------------------------- what the filter did

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

  private callbacks(): FilterCallbacks {
    return {
      forwardDownstream: (data, endOfStream) => {
        this.passedOn++;
        this.holdingDownstream = false;
        // Once closed, nothing more passes along the chain (docs/envoy-host.md §3).
        if (this.closed) return;
        // Passing bytes on reaches tcp_proxy: its new connection comes first (Envoy's filter manager).
        this.startUpstream();
        this.bytesForwarded.upstream += data.length;
        if (this.record) this.forwarded.push({ kind: "upstream", data, endOfStream });
      },
      forwardUpstream: (data, endOfStream) => {
        if (this.closed) return;
        this.bytesForwarded.client += data.length;
        if (this.record) this.forwarded.push({ kind: "client", data, endOfStream });
      },
      continueReading: () => this.startUpstream(),
      closeDownstream: () => {
        this.closed = true;
        this.forwarded.push({ kind: "close" });
      },
    };
  }

  /** A closed connection goes no further: tcp_proxy never sees it (docs/envoy-host.md §3). */
  private startUpstream(): void {
    if (!this.closed) this.upstreamStarted = true;
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
