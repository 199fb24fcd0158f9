// The ABI table's callbacks: every function Envoy looks for among a module's exports, in the
// order cpp-host gets them (`WasmBase::getFunctions`, `FOR_ALL_MODULE_FUNCTIONS`), each with the
// signature it must have (docs/envoy-host.md §1) and, for those this host calls, what its
// arguments and its returned word mean. The VM binds the ones it calls by these entries.

import { FilterStatus, PeerType, V0_1_0, V0_2_0, V0_2_1, type AbiVersion, type ValType } from "./abi.ts";
import type { Meaning } from "./contract.ts";
import { callback, type Callback, type ResultMeaning } from "./spec.ts";
import { byteCount } from "./trace-values.ts";

const I32: ValType = "i32";
const NONE: readonly ValType[] = [];
const WORD: readonly ValType[] = [I32];

// ---------------------------------------------------------------- entry points and allocator

/** WASI reactor entry point, then `main(0, 0)` (cpp-host `WasmBase::startVm`). */
export const INITIALIZE = callback({ name: "_initialize", params: NONE, results: NONE });
export const MAIN = callback({ name: "main", params: [I32, I32], results: WORD });
/** WASI command entry point, when there is no `_initialize`. */
export const START = callback({ name: "_start", params: NONE, results: NONE });
export const MALLOC = callback({ name: "malloc", params: WORD, results: WORD });
export const ON_MEMORY_ALLOCATE = callback({ name: "proxy_on_memory_allocate", params: WORD, results: WORD });

// ---------------------------------------------------------------- the root context (§2)

export const VALIDATE_CONFIGURATION = callback({ name: "proxy_validate_configuration", params: [I32, I32], results: WORD });
export const ON_VM_START = callback({
  name: "proxy_on_vm_start",
  params: [I32, I32],
  results: WORD,
  describe: ([, size]) => ({ bytes: size }),
  text: ({ bytes }) => `vm configuration ${byteCount(Number(bytes))}`,
});
export const ON_CONFIGURE = callback({
  name: "proxy_on_configure",
  params: [I32, I32],
  results: WORD,
  describe: ([, size]) => ({ bytes: size }),
  text: ({ bytes }) => `plugin configuration ${byteCount(Number(bytes))}`,
});
export const ON_TICK = callback({ name: "proxy_on_tick", params: WORD, results: NONE });
export const ON_CONTEXT_CREATE = callback({
  name: "proxy_on_context_create",
  params: [I32, I32],
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
const data = ([, size, endOfStream]: readonly number[]) => ({ bytes: size, endOfStream: endOfStream !== 0 });
const dataText = ({ bytes, endOfStream }: { bytes: number; endOfStream: boolean }) =>
  endOfStream ? `${byteCount(bytes)}, end of stream` : byteCount(bytes);
const peer = ([, type]: readonly number[]) => ({ peer: PeerType[type]?.toLowerCase() ?? String(type) });

export const ON_NEW_CONNECTION = callback({
  name: "proxy_on_new_connection",
  params: WORD,
  results: WORD,
  result: FILTER_STATUS,
});
export const ON_DOWNSTREAM_DATA = callback({
  name: "proxy_on_downstream_data",
  params: [I32, I32, I32],
  results: WORD,
  describe: data,
  text: dataText,
  result: FILTER_STATUS,
});
export const ON_UPSTREAM_DATA = callback({
  name: "proxy_on_upstream_data",
  params: [I32, I32, I32],
  results: WORD,
  describe: data,
  text: dataText,
  result: FILTER_STATUS,
});
export const ON_DOWNSTREAM_CONNECTION_CLOSE = callback({
  name: "proxy_on_downstream_connection_close",
  params: [I32, I32],
  results: NONE,
  describe: peer,
  text: ({ peer }) => `peer ${peer}`,
});
export const ON_UPSTREAM_CONNECTION_CLOSE = callback({
  name: "proxy_on_upstream_connection_close",
  params: [I32, I32],
  results: NONE,
  describe: peer,
  text: ({ peer }) => `peer ${peer}`,
});

// ---------------------------------------------------------------- HTTP, calls out, queues (not called here)

/** ABI 0.1.0's header callbacks have no end-of-stream argument. */
const headers = (version: AbiVersion) => ({ params: version === V0_1_0 ? [I32, I32] : [I32, I32, I32], results: WORD });

const HTTP_AND_CALLS = [
  callback({ name: "proxy_on_request_headers", params: [I32, I32, I32], results: WORD, signatureIn: headers }),
  callback({ name: "proxy_on_request_body", params: [I32, I32, I32], results: WORD }),
  callback({ name: "proxy_on_request_trailers", params: [I32, I32], results: WORD }),
  callback({ name: "proxy_on_request_metadata", params: [I32, I32], results: WORD }),
  callback({ name: "proxy_on_response_headers", params: [I32, I32, I32], results: WORD, signatureIn: headers }),
  callback({ name: "proxy_on_response_body", params: [I32, I32, I32], results: WORD }),
  callback({ name: "proxy_on_response_trailers", params: [I32, I32], results: WORD }),
  callback({ name: "proxy_on_response_metadata", params: [I32, I32], results: WORD }),
  callback({ name: "proxy_on_http_call_response", params: [I32, I32, I32, I32, I32], results: NONE }),
  callback({ name: "proxy_on_grpc_receive", params: [I32, I32, I32], results: NONE }),
  callback({ name: "proxy_on_grpc_close", params: [I32, I32, I32], results: NONE }),
  callback({ name: "proxy_on_grpc_receive_initial_metadata", params: [I32, I32, I32], results: NONE }),
  callback({ name: "proxy_on_grpc_receive_trailing_metadata", params: [I32, I32, I32], results: NONE }),
  callback({ name: "proxy_on_queue_ready", params: [I32, I32], results: NONE }),
  callback({ name: "proxy_on_foreign_function", params: [I32, I32, I32], results: NONE, versions: [V0_2_0, V0_2_1] }),
];

// ---------------------------------------------------------------- the end of a context (§2–3)

export const ON_DONE = callback({ name: "proxy_on_done", params: WORD, results: WORD });
export const ON_LOG = callback({ name: "proxy_on_log", params: WORD, results: NONE });
export const ON_DELETE = callback({ name: "proxy_on_delete", params: WORD, results: NONE });

/** The entry points, each run when exported: a reactor's `_initialize` then `main`, else `_start`. */
export const ENTRY_POINTS: readonly Callback[] = [INITIALIZE, MAIN, START];

/** The allocators the host uses, the first one exported. */
export const ALLOCATORS: readonly Callback[] = [MALLOC, ON_MEMORY_ALLOCATE];

/** Every proxy_on_* callback, in cpp-host's order. */
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
