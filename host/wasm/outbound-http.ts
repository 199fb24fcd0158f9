// The HTTP calls one VM has sent and not yet seen answered (docs/envoy-host.md §19): Envoy's
// `Context::httpCall` checks, the tokens cpp-host numbers them with, the requests handed to the
// network side's dispatcher, and their cancellation when the root context goes.

import { WasmResult } from "./abi.ts";
import type { HttpCallDispatcher, HttpCallRequest, HttpCallResponse, HttpHeader, PendingHttpCall } from "./contract.ts";

/** cpp-host numbers callouts by 4 from their type: HTTP calls are type 0 (`nextHttpCallId`). */
const CALLOUT_INCREMENT = 4;
/** Envoy refuses a request without these (`Context::httpCall`). */
const REQUIRED_HEADERS = [":path", ":method", ":authority"];

/** How a call ended: the response, or null for Envoy's onFailure (a reset). */
export type HttpCallOutcome = HttpCallResponse | null;

export interface DispatchResult {
  result: WasmResult;
  /** the call's token when dispatched; 0 otherwise (what cpp-host writes back then) */
  token: number;
}

export class OutboundHttpCalls {
  private lastToken = 0;
  private readonly pending = new Map<number, PendingHttpCall>();

  constructor(
    /** null: the host has no network side, so no cluster exists */
    private readonly dispatcher: HttpCallDispatcher | null,
    /** called once per call that ends before it is cancelled, from the event loop */
    private readonly answered: (token: number, outcome: HttpCallOutcome) => void,
  ) {}

  /** Envoy's checks in order: a negative timeout, an unknown cluster, a missing pseudo-header. */
  dispatch(request: HttpCallRequest): DispatchResult {
    if (request.timeoutMs < 0) return refused(WasmResult.BadArgument);
    if (this.dispatcher === null || !this.dispatcher.hasCluster(request.cluster)) return refused(WasmResult.BadArgument);
    if (!REQUIRED_HEADERS.every((name) => hasHeader(request.headers, name))) return refused(WasmResult.BadArgument);
    this.lastToken = (this.lastToken + CALLOUT_INCREMENT) >>> 0;
    const token = this.lastToken;
    const end = (outcome: HttpCallOutcome) => {
      if (this.pending.delete(token)) this.answered(token, outcome);
    };
    this.pending.set(token, this.dispatcher.send(request, { onSuccess: end, onFailure: () => end(null) }));
    return { result: WasmResult.Ok, token };
  }

  /** The root context is destroyed: every request still under way is cancelled, unanswered. */
  cancelAll(): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const call of pending) call.cancel();
  }
}

function refused(result: WasmResult): DispatchResult {
  return { result, token: 0 };
}

/** Envoy builds the request's header map with lower-cased names. */
function hasHeader(headers: readonly HttpHeader[], name: string): boolean {
  return headers.some(([key]) => key.toLowerCase() === name);
}
