// proxy_http_call without sockets: the test names the clusters that exist and scripts each
// request's answer (a response, or a reset), after a delay it chooses; it reads the requests the
// filter sent and how many were cancelled. A timeout, or a cluster that cannot be reached, is the
// response Envoy's router makes then (docs/envoy-host.md §19), which a script gives as such.

import type { HttpCallDispatcher, HttpCallHandlers, HttpCallRequest, HttpHeader, PendingHttpCall } from "../wasm/api.ts";

/** The upstream's answer: `:status` is put first, before `headers`. */
export interface ScriptedResponse {
  status: number;
  headers?: readonly HttpHeader[];
  body?: string | Uint8Array;
  trailers?: readonly HttpHeader[];
  /** ms before it arrives; 0 by default (the next turn of the event loop) */
  delayMs?: number;
}

/** Envoy's onFailure: the stream was reset after the response had begun. */
export interface ScriptedReset {
  reset: true;
  delayMs?: number;
}

/** `null`: the request is never answered (until cancelled). */
export type ScriptedAnswer = ScriptedResponse | ScriptedReset | null;

export class ScriptedHttpCalls implements HttpCallDispatcher {
  /** every request sent, in order */
  readonly requests: HttpCallRequest[] = [];
  /** requests cancelled before their answer */
  cancelled = 0;
  private readonly clusters: ReadonlySet<string>;

  constructor(
    clusters: readonly string[],
    private readonly answer: (request: HttpCallRequest) => ScriptedAnswer,
  ) {
    this.clusters = new Set(clusters);
  }

  hasCluster(name: string): boolean {
    return this.clusters.has(name);
  }

  send(request: HttpCallRequest, handlers: HttpCallHandlers): PendingHttpCall {
    this.requests.push(request);
    const answer = this.answer(request);
    let timer: NodeJS.Timeout | undefined;
    if (answer !== null) {
      timer = setTimeout(() => {
        timer = undefined;
        if ("reset" in answer) handlers.onFailure();
        else handlers.onSuccess(scriptedResponse(answer));
      }, answer.delayMs ?? 0);
    }
    return {
      cancel: () => {
        if (timer === undefined && answer !== null) return;
        clearTimeout(timer);
        timer = undefined;
        this.cancelled++;
      },
    };
  }
}

function scriptedResponse(answer: ScriptedResponse) {
  const body = typeof answer.body === "string" ? Buffer.from(answer.body) : (answer.body ?? new Uint8Array(0));
  return {
    headers: [[":status", String(answer.status)] as const, ...(answer.headers ?? [])],
    body,
    trailers: answer.trailers ?? [],
  };
}
