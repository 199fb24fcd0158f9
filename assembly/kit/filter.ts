// The dispatcher: the root ids a module serves, its registries of root contexts (one plugin
// object each) and of connections, and one method per proxy_on_* callback (exports.ts).
//
// It is generic in the filter's two classes, so every callback is a call on the concrete class,
// resolved when the module is compiled: no virtual method is involved, so AssemblyScript 0.17
// cannot skip an override (docs/toolchain.md). A callback the connection class does not declare
// is answered by the dispatcher (Continue, or nothing). proxy-runtime's context map is not used:
// it builds a string of every open context id for each new connection.
//
// The build reads the callbacks from this code (scripts/check-filter.ts): each
// `isDefined(connection.onX)` or `isDefined(plugin.onX)` is one, so a filter's misspelt `on…`
// method fails its build. Name the object `connection` or `plugin` where a callback is tested.

import {
  BufferTypeValues, FilterStatusValues, LogLevelValues, PeerTypeValues, WasmResultValues,
} from "@solo-io/proxy-runtime/runtime";
import { quotedBytes } from "./configuration";
import { getBufferBytes, resultName, setEffectiveContext } from "./host";
import { HttpCallResponse, takeCaller } from "./http_call";
import { log, logLevel } from "./log";
import { defineCreatedMetrics } from "./metrics";
import { readProperty } from "./properties";

const PLUGIN_ROOT_ID = String.UTF8.encode("plugin_root_id");
const NO_CONFIGURATION = new ArrayBuffer(0);

/**
 * A network filter made of two classes:
 *
 * - P, the plugin: one per root context (per VM and configuration). `constructor()`;
 *   `configure(configuration: ArrayBuffer): string`, given the plugin configuration's bytes
 *   (empty when there is none), returns "" when it takes them or the reason it refuses them;
 *   `describe(): string`, the settings for the `configured: ` line; and, if it sets a tick period
 *   (tick.ts), `onTick(): void`.
 * - C, the connection: `extends Connection` (connection.ts), `constructor(id: u32, plugin: P)`,
 *   and any of `onNewConnection(): FilterStatusValues`,
 *   `onDownstreamData(size: usize, endOfStream: bool): FilterStatusValues`, `onUpstreamData(...)`
 *   the same, `onDownstreamConnectionClose(peer: PeerTypeValues): void`,
 *   `onUpstreamConnectionClose(peer: PeerTypeValues): void`, `onDone(): void` (once),
 *   `onHttpCallResponse(response: HttpCallResponse): void` (http_call.ts).
 */
export class NetworkFilter<P, C> {
  private rootIds: string[];
  private roots: Map<u32, P> = new Map();
  private connections: Map<u32, C> = new Map();
  /** the connection called last, and its id (0 for none): callbacks come in runs for one connection */
  private lastId: u32 = 0;
  private last: C | null = null;
  /** the root context that created a connection last, and its id (0 for none): most VMs have one */
  private lastRootId: u32 = 0;
  private lastRoot: P | null = null;

  /** Serves these root ids (PluginConfig.root_id; "" for a configuration that leaves it out). */
  constructor(rootIds: string[]) {
    this.rootIds = rootIds;
  }

  // proxy_on_context_create
  createContext(context_id: u32, root_context_id: u32): void {
    if (root_context_id == 0) {
      this.createRoot(context_id);
      return;
    }
    if (context_id == this.lastId) this.forgetLast();
    const root = this.root(root_context_id);
    if (root === null) {
      log(LogLevelValues.error, "connection " + context_id.toString() + ": unknown root context " + root_context_id.toString());
      return;
    }
    const connection = instantiate<C>(context_id, root);
    this.connections.set(context_id, connection);
    // proxy_on_new_connection comes next, for this connection.
    this.lastId = context_id;
    this.last = connection;
  }

  /** The root context of `root_context_id`, or null for an id that is not one. */
  private root(root_context_id: u32): P | null {
    if (root_context_id == this.lastRootId) return this.lastRoot;
    if (!this.roots.has(root_context_id)) return null;
    const root = this.roots.get(root_context_id);
    this.lastRootId = root_context_id;
    this.lastRoot = root;
    return root;
  }

  /** Creates the root context, if its root id (property plugin_root_id) is one the module serves. */
  private createRoot(context_id: u32): void {
    const rootId = readProperty(PLUGIN_ROOT_ID);
    if (!rootId.ok || !this.rootIds.includes(String.UTF8.decode(rootId.bytes))) {
      const shown = rootId.ok ? quotedBytes(rootId.bytes) : resultName(rootId.result);
      log(LogLevelValues.error, "no root context for root id " + shown);
      return;
    }
    if (context_id == this.lastRootId) this.forgetLastRoot();
    this.roots.set(context_id, instantiate<P>());
  }

  // proxy_on_vm_start. A root without a root context (an unknown root id) fails start and
  // configure, so Envoy refuses the configuration instead of running a plugin that does nothing.
  vmStart(root_context_id: u32): bool {
    return this.roots.has(root_context_id);
  }

  // proxy_on_configure. The plugin configuration buffer exists only during this call
  // (docs/envoy-host.md §2).
  configure(root_context_id: u32, configuration_size: usize): bool {
    if (!this.roots.has(root_context_id)) return false;
    let configuration = NO_CONFIGURATION;
    if (configuration_size > 0) {
      const read = getBufferBytes(BufferTypeValues.PluginConfiguration, 0, <u32>configuration_size);
      if (!read.ok) {
        log(LogLevelValues.error, "invalid plugin configuration: cannot read it: " + resultName(read.result));
        return false;
      }
      configuration = read.bytes;
    }
    const plugin = this.roots.get(root_context_id);
    const error = plugin.configure(configuration);
    if (error.length > 0) {
      log(LogLevelValues.error, "invalid plugin configuration: " + error);
      return false;
    }
    // The plugin's metrics are defined here, so that none is used undefined (metrics.ts).
    const metricError = defineCreatedMetrics();
    if (metricError.length > 0) {
      log(LogLevelValues.error, "invalid plugin configuration: " + metricError);
      return false;
    }
    if (logLevel() <= LogLevelValues.info) log(LogLevelValues.info, "configured: " + plugin.describe());
    return true;
  }

  // proxy_on_tick: the plugin of this root context, if it declares onTick.
  tick(root_context_id: u32): void {
    if (!this.roots.has(root_context_id)) return;
    const plugin = this.roots.get(root_context_id);
    // @ts-ignore: isDefined is resolved at compile time, on P
    if (isDefined(plugin.onTick)) plugin.onTick();
  }

  // proxy_on_new_connection
  newConnection(context_id: u32): FilterStatusValues {
    const connection = this.connection(context_id);
    if (connection === null) return FilterStatusValues.Continue;
    // @ts-ignore: isDefined is resolved at compile time, on C
    if (isDefined(connection.onNewConnection)) return connection.onNewConnection();
    return FilterStatusValues.Continue;
  }

  // proxy_on_downstream_data and proxy_on_upstream_data: the stream learns how many bytes are new
  // before the callback, and what Envoy keeps after it. A side whose callback the class does not
  // declare has no stream to follow: none is made for it (connection.ts), and its connection is
  // not even looked up.
  data(context_id: u32, size: usize, endOfStream: bool, fromDownstream: bool): FilterStatusValues {
    let status = FilterStatusValues.Continue;
    if (fromDownstream) {
      // @ts-ignore: isDefined is resolved at compile time, on C
      if (!isDefined(changetype<C>(0).onDownstreamData)) return status;
      const connection = this.connection(context_id);
      if (connection === null) return status;
      const stream = connection.downstream;
      stream.enterCallback(size, endOfStream);
      // @ts-ignore: declared, as checked above
      status = connection.onDownstreamData(size, endOfStream);
      stream.leaveCallback(status);
    } else {
      // @ts-ignore: isDefined is resolved at compile time, on C
      if (!isDefined(changetype<C>(0).onUpstreamData)) return status;
      const connection = this.connection(context_id);
      if (connection === null) return status;
      const stream = connection.upstream;
      stream.enterCallback(size, endOfStream);
      // @ts-ignore: declared, as checked above
      status = connection.onUpstreamData(size, endOfStream);
      stream.leaveCallback(status);
    }
    return status;
  }

  // proxy_on_downstream_connection_close
  downstreamConnectionClose(context_id: u32, peer: PeerTypeValues): void {
    // @ts-ignore: isDefined is resolved at compile time, on C
    if (!isDefined(changetype<C>(0).onDownstreamConnectionClose)) return;
    const connection = this.connection(context_id);
    if (connection === null) return;
    // @ts-ignore: declared, as checked above
    connection.onDownstreamConnectionClose(peer);
  }

  // proxy_on_upstream_connection_close
  upstreamConnectionClose(context_id: u32, peer: PeerTypeValues): void {
    // @ts-ignore: isDefined is resolved at compile time, on C
    if (!isDefined(changetype<C>(0).onUpstreamConnectionClose)) return;
    const connection = this.connection(context_id);
    if (connection === null) return;
    // @ts-ignore: declared, as checked above
    connection.onUpstreamConnectionClose(peer);
  }

  // proxy_on_done: once per connection, however often Envoy calls it. A root context has nothing
  // to finish (no HTTP calls, no timers): it is done at once.
  done(context_id: u32): void {
    const connection = this.connection(context_id);
    if (connection === null) return;
    if (connection.finished) return;
    connection.finished = true;
    // @ts-ignore: isDefined is resolved at compile time, on C
    if (isDefined(connection.onDone)) connection.onDone();
  }

  // proxy_on_http_call_response: Envoy answers on the root context that made the call
  // (docs/envoy-host.md §19). The connection that sent it is made the effective context, so that
  // its continue or close acts on it; the answer to a connection gone meanwhile is dropped.
  httpCallResponse(token: u32, headers: u32, body_size: u32, trailers: u32): void {
    // Compiled only for a connection class that takes answers: a filter that sends no call
    // carries none of this. The class is asked before any connection is looked up.
    const noConnectionYet = changetype<C>(0);
    // @ts-ignore: isDefined is resolved at compile time, on C
    if (isDefined(noConnectionYet.onHttpCallResponse)) {
      const context_id = takeCaller(token);
      if (context_id == 0) return;
      const connection = this.connection(context_id);
      if (connection === null) return;
      const result = setEffectiveContext(context_id);
      if (result != WasmResultValues.Ok) {
        log(LogLevelValues.error, "connection " + context_id.toString() + ": cannot take its HTTP call's answer: " + resultName(result));
        return;
      }
      // @ts-ignore: isDefined is resolved at compile time, on C
      connection.onHttpCallResponse(new HttpCallResponse(token, headers, body_size, trailers));
    }
  }

  // proxy_on_delete: dropping the registry's references frees the context and all it held.
  delete(context_id: u32): void {
    if (context_id == this.lastId) this.forgetLast();
    if (this.connections.delete(context_id)) return;
    if (context_id == this.lastRootId) this.forgetLastRoot();
    this.roots.delete(context_id);
  }

  private forgetLast(): void {
    this.lastId = 0;
    this.last = null;
  }

  private forgetLastRoot(): void {
    this.lastRootId = 0;
    this.lastRoot = null;
  }

  /** The connection of `context_id`, or null for an id that is not one. */
  private connection(context_id: u32): C | null {
    if (context_id == this.lastId) return this.last;
    if (!this.connections.has(context_id)) return null;
    const connection = this.connections.get(context_id);
    this.lastId = context_id;
    this.last = connection;
    return connection;
  }
}
