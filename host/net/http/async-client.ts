// The clusters' HTTP client for proxy_http_call, as Envoy's AsyncClient and router give it
// (docs/envoy-host.md §19): one HTTP/1.1 request to the cluster's next endpoint (round robin, as
// tcp_proxy picks), the pseudo-headers made the request line and Host. What the router answers
// itself comes back as a response (503 when no endpoint or no connection, 504 at the timeout
// before the response has begun); a response broken off after it has begun is a failure.
// Trailers go neither way: Envoy's HTTP/1 codec drops them unless enable_trailers is set, which
// these clusters do not have.

import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import type { HttpCallDispatcher, HttpCallHandlers, HttpCallRequest, HttpCallResponse, HttpHeader, PendingHttpCall } from "../../wasm/api.ts";
import type { UpstreamCluster } from "../tcp-proxy/cluster.ts";

/** The router's local replies (source/common/router/router.cc, Envoy 1.39.0). */
const NO_HEALTHY_UPSTREAM = { status: 503, body: "no healthy upstream" };
const TIMEOUT = { status: 504, body: "upstream request timeout" };
const RESET_BEFORE_HEADERS = "upstream connect error or disconnect/reset before headers. reset reason: ";
/** Envoy's names of the reset reasons (Http::Utility::resetReasonToString). */
const CONNECTION_FAILURE = "remote connection failure";
const CONNECTION_TERMINATION = "connection termination";

type LocalReply = { status: number; body: string };

export class ClusterHttpClient implements HttpCallDispatcher {
  constructor(
    /** the cluster manager's clusters by name; may find none before the listeners are up */
    private readonly findCluster: (name: string) => UpstreamCluster | undefined,
  ) {}

  hasCluster(name: string): boolean {
    return this.findCluster(name) !== undefined;
  }

  send(request: HttpCallRequest, handlers: HttpCallHandlers): PendingHttpCall {
    return new UpstreamHttpCall(this.findCluster(request.cluster), request, handlers);
  }
}

/** One request, ended once: answered, failed or cancelled. */
class UpstreamHttpCall implements PendingHttpCall {
  private ended = false;
  private timer: NodeJS.Timeout | undefined;
  private outgoing: ClientRequest | undefined;
  /** the response has begun: a break from here on is a failure, not a local reply */
  private responseStarted = false;

  constructor(cluster: UpstreamCluster | undefined, request: HttpCallRequest, private readonly handlers: HttpCallHandlers) {
    const host = cluster?.pickEndpoint();
    if (host === undefined) {
      setImmediate(() => this.localReply(NO_HEALTHY_UPSTREAM));
      return;
    }
    if (request.timeoutMs > 0) this.timer = setTimeout(() => this.onTimeout(), request.timeoutMs);
    const headers = requestHeaders(request);
    const outgoing = httpRequest({
      host: host.info.address.address,
      port: host.info.address.port,
      method: headers.method,
      path: headers.path,
      headers: headers.rest,
      setHost: false,
      agent: false,
    });
    this.outgoing = outgoing;
    let connected = false;
    outgoing.on("socket", (socket) => socket.once("connect", () => (connected = true)));
    outgoing.on("response", (response) => this.onResponse(response));
    outgoing.on("error", () => {
      if (this.responseStarted) this.fail();
      else this.localReply({ status: 503, body: RESET_BEFORE_HEADERS + (connected ? CONNECTION_TERMINATION : CONNECTION_FAILURE) });
    });
    outgoing.end(request.body);
  }

  cancel(): void {
    this.end();
  }

  private onResponse(response: IncomingMessage): void {
    this.responseStarted = true;
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("aborted", () => this.fail());
    response.on("error", () => this.fail());
    response.on("end", () => {
      if (this.end()) {
        this.handlers.onSuccess({ headers: responseHeaders(response), body: Buffer.concat(chunks), trailers: [] });
      }
    });
  }

  /** Envoy's router at the timeout: 504 before the response has begun, a reset after. */
  private onTimeout(): void {
    if (this.responseStarted) this.fail();
    else this.localReply(TIMEOUT);
  }

  private localReply(reply: LocalReply): void {
    if (this.end()) this.handlers.onSuccess(localReplyResponse(reply));
  }

  private fail(): void {
    if (this.end()) this.handlers.onFailure();
  }

  /** True for the first end only: the timer and the request are released then. */
  private end(): boolean {
    if (this.ended) return false;
    this.ended = true;
    clearTimeout(this.timer);
    this.outgoing?.destroy();
    return true;
  }
}

/** The request line's parts from the pseudo-headers, the rest as headers, `:authority` as Host. */
function requestHeaders(request: HttpCallRequest): { method: string; path: string; rest: Record<string, string | string[]> } {
  let method = "";
  let path = "";
  const rest: Record<string, string | string[]> = {};
  const add = (name: string, value: string) => {
    const existing = rest[name];
    rest[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  };
  for (const [rawName, value] of request.headers) {
    const name = rawName.toLowerCase();
    if (name === ":method") method = value;
    else if (name === ":path") path = value;
    else if (name === ":authority") add("host", value);
    else if (!name.startsWith(":")) add(name, value);
  }
  // Envoy sets content-length for a body it was given (Context::httpCall)
  if (request.body.length > 0) rest["content-length"] = String(request.body.length);
  return { method, path, rest };
}

/** `:status` first, then the headers as received, names lower case, as Envoy's HTTP/1 codec builds them. */
function responseHeaders(response: IncomingMessage): HttpHeader[] {
  const headers: HttpHeader[] = [[":status", String(response.statusCode ?? 0)]];
  const raw = response.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i].toLowerCase(), raw[i + 1]]);
  return headers;
}

/** Envoy's local reply: `:status`, then content-length and content-type text/plain for its body. */
function localReplyResponse({ status, body }: LocalReply): HttpCallResponse {
  const bytes = Buffer.from(body);
  return {
    headers: [
      [":status", String(status)],
      ["content-length", String(bytes.length)],
      ["content-type", "text/plain"],
    ],
    body: bytes,
    trailers: [],
  };
}
