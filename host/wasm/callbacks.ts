// The ABI table's callbacks: every function Envoy looks for among a module's exports, in the
// order cpp-host gets them (`WasmBase::getFunctions`, `FOR_ALL_MODULE_FUNCTIONS`), each with the
// signature it must have (docs/envoy-host.md §1) and, for those this host calls, what its
// arguments and its returned word mean. The VM binds the ones it calls by these entries.

import { FilterStatus, PeerType, V0_1_0, V0_2_0, V0_2_1, words, type AbiVersion } from "./abi.ts";
import type { Meaning } from "./contract.ts";
import { callback, lookedFor, type Callback, type ResultMeaning } from "./spec.ts";
import { byteCount } from "./trace-values.ts";

const NONE = words(0);
const WORD = words(1);

// ---------------------------------------------------------------- entry points and allocator

/** WASI reactor entry point, then `main(0, 0)` (cpp-host `WasmBase::startVm`). */
export const INITIALIZE = callback({ name: "_initialize", params: NONE, results: NONE });
export const MAIN = callback({ name: "main", params: words(2), results: WORD });
/** WASI command entry point, when there is no `_initialize`. */
export const START = callback({ name: "_start", params: NONE, results: NONE });
export const MALLOC = callback({ name: "malloc", params: words(1), results: WORD });
export const ON_MEMORY_ALLOCATE = callback({ name: "proxy_on_memory_allocate", params: words(1), results: WORD });

// ---------------------------------------------------------------- the root context (§2)

/** proxy_on_vm_start or proxy_on_configure: the root context and the configuration's size; 0 fails the start. */
function configurationCallback(name: string, which: string): Callback {
  return callback({
    name,
    params: words(2),
    results: WORD,
    describe: ([, size]) => ({ bytes: size }),
    text: ({ bytes }) => `${which} configuration ${byteCount(Number(bytes))}`,
  });
}

export const VALIDATE_CONFIGURATION = callback({ name: "proxy_validate_configuration", params: words(2), results: WORD });
export const ON_VM_START = configurationCallback("proxy_on_vm_start", "vm");
export const ON_CONFIGURE = configurationCallback("proxy_on_configure", "plugin");
export const ON_TICK = callback({ name: "proxy_on_tick", params: words(1), results: NONE });
export const ON_CONTEXT_CREATE = callback({
  name: "proxy_on_context_create",
  params: words(2),
  results: NONE,
  describe: ([id, root]): Meaning => (root === 0 ? { kind: "root", id } : { kind: "connection", id, root }),
  text: ({ kind, id, root }) => (kind === "root" ? `root context ${id}` : `connection context ${id} of root ${root}`),
});

// ---------------------------------------------------------------- a TCP connection (§3)

/** A network filter's status: 0 Continue, any other word StopIteration. */
const FILTER_STATUS: ResultMeaning = {
  describe: (result) => ({ status: FilterStatus[result === 0 ? FilterStatus.Continue : FilterStatus.StopIteration] }),
  text: ({ status }) => String(status),
};

export const ON_NEW_CONNECTION = callback({ name: "proxy_on_new_connection", params: words(1), results: WORD, result: FILTER_STATUS });
export const ON_DOWNSTREAM_DATA = dataCallback("proxy_on_downstream_data");
export const ON_UPSTREAM_DATA = dataCallback("proxy_on_upstream_data");
export const ON_DOWNSTREAM_CONNECTION_CLOSE = closeCallback("proxy_on_downstream_connection_close");
export const ON_UPSTREAM_CONNECTION_CLOSE = closeCallback("proxy_on_upstream_connection_close");

/** A data callback: the context, the size of the buffer, end of stream; a filter status back. */
function dataCallback(name: string): Callback {
  return callback({
    name,
    params: words(3),
    results: WORD,
    describe: ([, size, endOfStream]) => ({ bytes: size, endOfStream: endOfStream !== 0 }),
    text: ({ bytes, endOfStream }) => (endOfStream ? `${byteCount(Number(bytes))}, end of stream` : byteCount(Number(bytes))),
    result: FILTER_STATUS,
  });
}

/** A connection-close callback: the context and the peer type. */
function closeCallback(name: string): Callback {
  return callback({
    name,
    params: words(2),
    results: NONE,
    describe: ([, type]) => ({ peer: PeerType[type]?.toLowerCase() ?? String(type) }),
    text: ({ peer }) => `peer ${peer}`,
  });
}

// ---------------------------------------------------------------- HTTP calls out (§19)

/** The answer to proxy_http_call: the root context, the token, the response's counts (all 0 on a failure). */
export const ON_HTTP_CALL_RESPONSE = callback({
  name: "proxy_on_http_call_response",
  params: words(5),
  results: NONE,
  describe: ([, token, headers, body, trailers]) => ({ token, headers, bodyBytes: body, trailers }),
  text: ({ token, headers, bodyBytes, trailers }) =>
    `token ${token}: ${headers} headers, ${byteCount(Number(bodyBytes))}, ${trailers} trailers`,
});

/** A shared queue the root context registered has data (§20): called later, on the registering VM. */
export const ON_QUEUE_READY = callback({
  name: "proxy_on_queue_ready",
  params: words(2),
  results: NONE,
  describe: ([, token]) => ({ token }),
  text: ({ token }) => `queue ${token}`,
});

// ---------------------------------------------------------------- HTTP, calls out, queues

/** ABI 0.1.0's header callbacks have no end-of-stream argument. */
const headers = (version: AbiVersion) => ({ params: words(version === V0_1_0 ? 2 : 3), results: WORD });

/** Looked for, and their signatures checked; of these a network filter's host calls proxy_on_http_call_response and proxy_on_queue_ready only. */
const HTTP_AND_CALLS = [
  callback({ name: "proxy_on_request_headers", params: words(3), results: WORD, signatureIn: headers }),
  callback({ name: "proxy_on_response_headers", params: words(3), results: WORD, signatureIn: headers }),
  ...lookedFor(words(3), WORD, ["proxy_on_request_body", "proxy_on_response_body"]),
  ...lookedFor(words(2), WORD, ["proxy_on_request_trailers", "proxy_on_request_metadata", "proxy_on_response_trailers", "proxy_on_response_metadata"]),
  ON_HTTP_CALL_RESPONSE,
  ...lookedFor(words(3), NONE, ["proxy_on_grpc_receive", "proxy_on_grpc_close", "proxy_on_grpc_receive_initial_metadata", "proxy_on_grpc_receive_trailing_metadata"]),
  ON_QUEUE_READY,
  ...lookedFor(words(3), NONE, ["proxy_on_foreign_function"], [V0_2_0, V0_2_1]),
];

// ---------------------------------------------------------------- the end of a context (§2–3)

export const ON_DONE = callback({ name: "proxy_on_done", params: words(1), results: WORD });
export const ON_LOG = callback({ name: "proxy_on_log", params: words(1), results: NONE });
export const ON_DELETE = callback({ name: "proxy_on_delete", params: words(1), results: NONE });

/** The entry points, each run when exported: a reactor's `_initialize` then `main`, else `_start`. */
export const ENTRY_POINTS: readonly Callback[] = [INITIALIZE, MAIN, START];

/** The allocators the host uses, the first one exported. */
export const ALLOCATORS: readonly Callback[] = [MALLOC, ON_MEMORY_ALLOCATE];

/** Every proxy_on_* callback, in the order cpp-host looks for them (those it never calls here grouped by signature). */
export const CALLBACKS: readonly Callback[] = [
  VALIDATE_CONFIGURATION,
  ON_VM_START,
  ON_CONFIGURE,
  ON_TICK,
  ON_CONTEXT_CREATE,
  ON_NEW_CONNECTION,
  ON_DOWNSTREAM_DATA,
  ON_UPSTREAM_DATA,
  ON_DOWNSTREAM_CONNECTION_CLOSE,
  ON_UPSTREAM_CONNECTION_CLOSE,
  ...HTTP_AND_CALLS,
  ON_DONE,
  ON_LOG,
  ON_DELETE,
];
