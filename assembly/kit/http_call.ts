// A connection that asks before it goes on: it sends an HTTP call to a cluster of Envoy's
// (proxy_http_call), holds the connection (StopIteration), and hears the answer in its own
// `onHttpCallResponse(response: HttpCallResponse): void`, where it continues
// (`this.downstream.resume()`) or closes (`this.downstream.close()`).
//
// Envoy makes the call on the plugin's root context and answers it there, not on the connection
// (docs/envoy-host.md §19): the kit keeps which connection sent each token, and the dispatcher
// (filter.ts) makes that connection the effective context before it calls the connection, so that
// its continue or close acts on it. The answer to a connection that has closed meanwhile is
// dropped: Envoy does not cancel the call when the connection goes.

import { BufferTypeValues, WasmResultValues } from "@solo-io/proxy-runtime/runtime";
import { getBufferBytes, getHeaderMapValue, httpCall, HostBytes, HostWord } from "./host";

// Nothing here is made at the module's start: every filter's dispatcher imports this module, and
// a filter that sends no call must not carry it (its memory layout stays as it was).

/** proxy-wasm's map of an HTTP call's response headers (docs/envoy-host.md §19). */
const RESPONSE_HEADERS: i32 = 6;

/** The pseudo-headers' names as UTF-8, and the calls in flight: made by the first call. */
class CallState {
  status: ArrayBuffer = String.UTF8.encode(":status");
  method: ArrayBuffer = String.UTF8.encode(":method");
  path: ArrayBuffer = String.UTF8.encode(":path");
  authority: ArrayBuffer = String.UTF8.encode(":authority");
  /** token → the context id of the connection that sent it, until the answer comes */
  callers: Map<u32, u32> = new Map();
}

/**
 * The CallState's address, 0 until the first call. An address, not a `CallState | null`: a
 * top-level variable of a class type makes AssemblyScript register the class (and Map<u32, u32>)
 * in every module that imports this one, which shifts the memory layout of filters that never
 * send a call.
 */
let callStateAddress: usize = 0;

function state(): CallState {
  if (callStateAddress == 0) {
    // Kept for the module's life: one reference held by this address.
    callStateAddress = __retain(changetype<usize>(new CallState()));
  }
  return changetype<CallState>(callStateAddress);
}

/** One request: the pseudo-headers Envoy requires, other headers in order, a body, a timeout. */
export class HttpCallRequest {
  method: string;
  path: string;
  authority: string;
  /** the request's other headers, as UTF-8, in the order added */
  private names: ArrayBuffer[] = [];
  private values: ArrayBuffer[] = [];
  body: ArrayBuffer = new ArrayBuffer(0);
  /** Envoy's timeout for the whole call (a 504 answer when it fires); 0 for none */
  timeoutMs: u32 = 0;

  constructor(method: string, path: string, authority: string) {
    this.method = method;
    this.path = path;
    this.authority = authority;
  }

  /** Adds a header, its name in lower case as Envoy's header maps keep names. */
  header(name: ArrayBuffer, value: ArrayBuffer): HttpCallRequest {
    this.names.push(name);
    this.values.push(value);
    return this;
  }

  /**
   * The headers in the pairs encoding: a u32 count, a u32 name and value length per header, then
   * each name and value followed by a NUL byte.
   */
  encodeHeaders(): ArrayBuffer {
    const names = state();
    const method = String.UTF8.encode(this.method);
    const path = String.UTF8.encode(this.path);
    const authority = String.UTF8.encode(this.authority);
    const count = 3 + this.names.length;
    let size = 4 + count * 8 + names.method.byteLength + method.byteLength + names.path.byteLength + path.byteLength +
      names.authority.byteLength + authority.byteLength + 6;
    for (let i = 0; i < this.names.length; i++) size += this.names[i].byteLength + this.values[i].byteLength + 2;
    const encoded = new ArrayBuffer(size);
    const base = changetype<usize>(encoded);
    store<u32>(base, count);
    let lengths = base + 4;
    let text = base + 4 + <usize>count * 8;
    text = writePair(lengths, text, names.method, method);
    text = writePair(lengths + 8, text, names.path, path);
    text = writePair(lengths + 16, text, names.authority, authority);
    for (let i = 0; i < this.names.length; i++) {
      text = writePair(lengths + 24 + <usize>i * 8, text, this.names[i], this.values[i]);
    }
    return encoded;
  }
}

/** Writes one pair's two lengths at `lengths` and its name and value at `text`; returns the address after them. */
function writePair(lengths: usize, text: usize, name: ArrayBuffer, value: ArrayBuffer): usize {
  store<u32>(lengths, name.byteLength);
  store<u32>(lengths + 4, value.byteLength);
  memory.copy(text, changetype<usize>(name), name.byteLength);
  text += name.byteLength;
  store<u8>(text++, 0);
  memory.copy(text, changetype<usize>(value), value.byteLength);
  text += value.byteLength;
  store<u8>(text++, 0);
  return text;
}

/**
 * Sends `request` to `cluster` for the connection `contextId`; the answer goes to that
 * connection's onHttpCallResponse. The result and, when Ok, the token. Not Ok: nothing was sent,
 * no answer will come (an unknown cluster is BadArgument).
 */
export function sendHttpCall(contextId: u32, cluster: string, request: HttpCallRequest): HostWord {
  const sent = httpCall(String.UTF8.encode(cluster), request.encodeHeaders(), request.body, request.timeoutMs);
  if (sent.result == WasmResultValues.Ok) state().callers.set(sent.value, contextId);
  return sent;
}

/** The connection that sent call `token`, forgotten from now on; 0 for a token the kit did not send. */
export function takeCaller(token: u32): u32 {
  const callers = state().callers;
  if (!callers.has(token)) return 0;
  const contextId = callers.get(token);
  callers.delete(token);
  return contextId;
}

/** Calls sent whose answer has not come yet. */
export function callsInFlight(): i32 {
  return state().callers.size;
}

/**
 * The answer to one call, readable only inside onHttpCallResponse (Envoy keeps the response
 * during that callback alone).
 */
export class HttpCallResponse {
  readonly token: u32;
  readonly headerCount: u32;
  readonly bodySize: u32;
  readonly trailerCount: u32;

  constructor(token: u32, headerCount: u32, bodySize: u32, trailerCount: u32) {
    this.token = token;
    this.headerCount = headerCount;
    this.bodySize = bodySize;
    this.trailerCount = trailerCount;
  }

  /**
   * The call failed without a response: Envoy's onHttpCallFailure (the stream reset once the
   * answer had begun) comes with no headers at all. A timeout, or a cluster that cannot be
   * reached, is a response Envoy's router makes itself (504, 503).
   */
  get failed(): bool {
    return this.headerCount == 0;
  }

  /** The `:status` as a number; 0 when there is none (a failure) or it is no number. */
  status(): u32 {
    const read = this.header(state().status);
    if (!read.ok) return 0;
    const digits = read.bytes;
    const length = digits.byteLength;
    if (length == 0 || length > 3) return 0;
    let status: u32 = 0;
    for (let i = 0; i < length; i++) {
      const digit = <u32>load<u8>(changetype<usize>(digits) + i) - 48;
      if (digit > 9) return 0;
      status = status * 10 + digit;
    }
    return status;
  }

  /** The first value of header `name` (lower case, UTF-8); NotFound when the response has none. */
  header(name: ArrayBuffer, into: HostBytes = new HostBytes()): HostBytes {
    return getHeaderMapValue(RESPONSE_HEADERS, name, into);
  }

  /** The response body, up to `limit` bytes. */
  body(limit: u32 = u32.MAX_VALUE, into: HostBytes = new HostBytes()): HostBytes {
    return getBufferBytes(BufferTypeValues.HttpCallResponseBody, 0, min(limit, this.bodySize), into);
  }
}
