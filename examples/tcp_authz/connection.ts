// tcp_authz's connection: on a new connection it asks the authorization service (an HTTP call to
// the configured cluster, with the client's and the listener's addresses) and holds the connection
// until the answer: tcp_proxy does not connect, and the client's bytes wait in Envoy's read buffer.
// A 2xx answer lets the connection go on with every byte held; any other answer closes it. When
// the question cannot be asked, the stream resets, or the answer is one Envoy's router makes when
// the service is unreachable (503) or silent past timeout_ms (504), failure_mode decides.

import { Connection, FilterStatusValues, HostBytes, HttpCallRequest, HttpCallResponse, LogLevelValues, PeerTypeValues, readProperty, resultName, sendHttpCall, WasmResultValues } from "../../assembly/kit";
import { AuthzPlugin } from "./plugin";

const SOURCE_ADDRESS = String.UTF8.encode("source\0address");
const DESTINATION_ADDRESS = String.UTF8.encode("destination\0address");
/** the request's headers: the client's `ip:port`, and the listener's the client reached */
const SOURCE_HEADER = String.UTF8.encode("x-source-address");
const DESTINATION_HEADER = String.UTF8.encode("x-destination-address");
const UNAVAILABLE: u32 = 503;
const TIMED_OUT: u32 = 504;

// Filled in place for each connection: a VM runs one callback at a time.
const sourceRead = new HostBytes();
const destinationRead = new HostBytes();

export class AuthzConnection extends Connection {
  private plugin: AuthzPlugin;
  /** the question is out and the connection held until its answer */
  private waiting: bool = false;
  /** the filter has closed the connection: nothing of the client's passes */
  private refused: bool = false;

  constructor(id: u32, plugin: AuthzPlugin) {
    super(id);
    this.plugin = plugin;
  }

  // proxy_on_new_connection: tcp_proxy has not connected yet (docs/envoy-host.md §3);
  // StopIteration keeps it so until the answer.
  onNewConnection(): FilterStatusValues {
    const settings = this.plugin.settings;
    const request = new HttpCallRequest("GET", settings.path, settings.cluster);
    request.timeoutMs = settings.timeoutMs;
    const source = readProperty(SOURCE_ADDRESS, sourceRead);
    if (source.ok) request.header(SOURCE_HEADER, source.bytes);
    const destination = readProperty(DESTINATION_ADDRESS, destinationRead);
    if (destination.ok) request.header(DESTINATION_HEADER, destination.bytes);
    const sent = sendHttpCall(this.id, settings.cluster, request);
    sourceRead.release();
    destinationRead.release();
    if (sent.result != WasmResultValues.Ok) {
      // Nothing was sent (an unknown cluster): no answer will come.
      return this.failed("not sent: " + resultName(sent.result)) ? FilterStatusValues.Continue : FilterStatusValues.StopIteration;
    }
    this.waiting = true;
    return FilterStatusValues.StopIteration;
  }

  // proxy_on_downstream_data: held while the question is out (Envoy keeps the bytes and reports
  // them again with the next ones), and after a refusal.
  onDownstreamData(size: usize, endOfStream: bool): FilterStatusValues {
    return this.waiting || this.refused ? FilterStatusValues.StopIteration : FilterStatusValues.Continue;
  }

  // The service's answer, or Envoy's for it.
  onHttpCallResponse(response: HttpCallResponse): void {
    this.waiting = false;
    if (response.failed) {
      this.decideAfterFailure("reset");
      return;
    }
    const status = response.status();
    if (status == UNAVAILABLE || status == TIMED_OUT) {
      this.decideAfterFailure("answered " + status.toString());
      return;
    }
    const metrics = this.plugin.metrics;
    if (status >= 200 && status < 300) {
      metrics.allowed.add(1);
      this.log(LogLevelValues.info, "allowed: authz answered " + status.toString());
      this.report("continue", this.downstream.resume());
      return;
    }
    metrics.denied.add(1);
    this.log(LogLevelValues.info, "denied: authz answered " + status.toString());
    this.refuse();
  }

  // proxy_on_downstream_connection_close: a client that leaves before the answer; the answer,
  // when it comes, finds no connection and is dropped (kit/http_call.ts).
  onDownstreamConnectionClose(peer: PeerTypeValues): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.log(LogLevelValues.info, "closed before authz answered");
  }

  /** The question failed: counted, and failure_mode admits (resumes) or refuses the connection. */
  private decideAfterFailure(reason: string): void {
    if (this.failed(reason)) this.report("continue", this.downstream.resume());
  }

  /** Counts and logs a failure; whether failure_mode admits the connection (else it is closed). */
  private failed(reason: string): bool {
    this.plugin.metrics.failed.add(1);
    const allow = this.plugin.settings.allowOnFailure;
    this.log(LogLevelValues.warn, "authz failed (" + reason + "): failure_mode " + (allow ? "allow admits" : "deny refuses") + " the connection");
    if (!allow) this.refuse();
    return allow;
  }

  /** Closes the connection; tcp_proxy has not connected, so there is no upstream to close. */
  private refuse(): void {
    this.refused = true;
    this.report("close", this.downstream.close());
  }

  private report(what: string, result: WasmResultValues): void {
    if (result != WasmResultValues.Ok) this.log(LogLevelValues.error, "cannot " + what + " downstream: " + resultName(result));
  }
}
