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
// `isDefined(changetype<C>(0).onX)` or `isDefined(plugin.onX)` is one, so a filter's misspelt
// `on…` method fails its build. Test a callback on `changetype<C>(0)` or `changetype<P>(0)`, or
// on an object named `connection` or `plugin`.

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
  // Callbacks come in runs for one connection, and most VMs have one root context: the dispatcher
  // keeps the ones it used last and calls them in place, `this.connection!.onX()`. A local or a
  // returned reference would be counted on every callback (docs/toolchain.md).
  /** the connection called last, and its id (0 for none) */
  private connectionId: u32 = 0;
  private connection: C | null = null;
  /** the root context that created a connection last, and its id (0 for none) */
  private rootId: u32 = 0;
  private root: P | null = null;

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
    if (context_id == this.connectionId) this.forgetConnection();
    if (!this.findRoot(root_context_id)) {
      log(LogLevelValues.error, "connection " + context_id.toString() + ": unknown root context " + root_context_id.toString());
      return;
    }
    // proxy_on_new_connection comes next, for this connection.
    this.connection = instantiate<C>(context_id, this.root!);
    this.connectionId = context_id;
    this.connections.set(context_id, this.connection!);
  }

  /** Makes the root context of `root_context_id` this.root; false for an id that is not one. */
  private findRoot(root_context_id: u32): bool {
    if (root_context_id == this.rootId) return true;
    if (!this.roots.has(root_context_id)) return false;
    this.root = this.roots.get(root_context_id);
    this.rootId = root_context_id;
    return true;
  }

  /** Creates the root context, if its root id (property plugin_root_id) is one the module serves. */
  private createRoot(context_id: u32): void {
    const rootId = readProperty(PLUGIN_ROOT_ID);
    if (!rootId.ok || !this.rootIds.includes(String.UTF8.decode(rootId.bytes))) {
      const shown = rootId.ok ? quotedBytes(rootId.bytes) : resultName(rootId.result);
      log(LogLevelValues.error, "no root context for root id " + shown);
      return;
    }
    if (context_id == this.rootId) this.forgetRoot();
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
    // @ts-ignore: isDefined is resolved at compile time, on C
    if (!isDefined(changetype<C>(0).onNewConnection)) return FilterStatusValues.Continue;
    if (!this.findConnection(context_id)) return FilterStatusValues.Continue;
    // @ts-ignore: declared, as checked above
    return this.connection!.onNewConnection();
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
      if (!this.findConnection(context_id)) return status;
      this.connection!.enterData(true, size, endOfStream);
      // @ts-ignore: declared, as checked above
      status = this.connection!.onDownstreamData(size, endOfStream);
      this.connection!.leaveData(true, status);
    } else {
      // @ts-ignore: isDefined is resolved at compile time, on C
      if (!isDefined(changetype<C>(0).onUpstreamData)) return status;
      if (!this.findConnection(context_id)) return status;
      this.connection!.enterData(false, size, endOfStream);
      // @ts-ignore: declared, as checked above
      status = this.connection!.onUpstreamData(size, endOfStream);
      this.connection!.leaveData(false, status);
    }
    return status;
  }

  // proxy_on_downstream_connection_close
  downstreamConnectionClose(context_id: u32, peer: PeerTypeValues): void {
    // @ts-ignore: isDefined is resolved at compile time, on C
    if (!isDefined(changetype<C>(0).onDownstreamConnectionClose)) return;
    if (!this.findConnection(context_id)) return;
    // @ts-ignore: declared, as checked above
    this.connection!.onDownstreamConnectionClose(peer);
  }

  // proxy_on_upstream_connection_close
  upstreamConnectionClose(context_id: u32, peer: PeerTypeValues): void {
    // @ts-ignore: isDefined is resolved at compile time, on C
    if (!isDefined(changetype<C>(0).onUpstreamConnectionClose)) return;
    if (!this.findConnection(context_id)) return;
    // @ts-ignore: declared, as checked above
    this.connection!.onUpstreamConnectionClose(peer);
  }

  // proxy_on_done: once per connection, however often Envoy calls it. A root context has nothing
  // to finish (no HTTP calls, no timers): it is done at once.
  done(context_id: u32): void {
    if (!this.findConnection(context_id)) return;
    if (this.connection!.finished) return;
    this.connection!.finished = true;
    // @ts-ignore: isDefined is resolved at compile time, on C
    if (isDefined(changetype<C>(0).onDone)) this.connection!.onDone();
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
      if (!this.findConnection(context_id)) return;
      const result = setEffectiveContext(context_id);
      if (result != WasmResultValues.Ok) {
        log(LogLevelValues.error, "connection " + context_id.toString() + ": cannot take its HTTP call's answer: " + resultName(result));
        return;
      }
      // @ts-ignore: isDefined is resolved at compile time, on C
      this.connection!.onHttpCallResponse(new HttpCallResponse(token, headers, body_size, trailers));
    }
  }

  // proxy_on_delete: dropping the registry's references frees the context and all it held.
  delete(context_id: u32): void {
    if (context_id == this.connectionId) this.forgetConnection();
    if (this.connections.delete(context_id)) return;
    if (context_id == this.rootId) this.forgetRoot();
    this.roots.delete(context_id);
  }

  private forgetConnection(): void {
    this.connectionId = 0;
    this.connection = null;
  }

  private forgetRoot(): void {
    this.rootId = 0;
    this.root = null;
  }

  /** Makes the connection of `context_id` this.connection; false for an id that is not one. */
  private findConnection(context_id: u32): bool {
    if (context_id == this.connectionId) return true;
    if (!this.connections.has(context_id)) return false;
    this.connection = this.connections.get(context_id);
    this.connectionId = context_id;
    return true;
  }
}
