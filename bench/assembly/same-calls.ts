// The same-calls baseline: a plugin that makes, callback by callback, exactly the host calls a
// filter makes for a connection — the same property paths, buffer ranges, metric updates, log
// calls of the same levels and lengths, the same status returned — and computes nothing: every
// log line is the same constant bytes, every value the host returns is freed unread. Which calls
// it makes is a script in its plugin configuration (bench/host-calls.ts writes it from a trace of
// the filter), read once in proxy_on_configure. A filter's time divided by this one's is the
// filter's own work in the VM; the host's share is the same on both sides.
//
// The script is one call per line, `<callback> <n> <call> <arguments...>`: `n` counts the
// callback's invocations on a connection from 0 (a later one repeats the last script), and the
// calls are
//   return <status>                    the callback's return value (otherwise Continue)
//   level                              proxy_get_log_level
//   time                               proxy_get_current_time_nanoseconds
//   log <level> <length>               proxy_log of length + the digits of the context id bytes
//   property <path in hex>             proxy_get_property, the value freed
//   buffer <type> <start> <length>     proxy_get_buffer_bytes, the bytes freed
//   set_buffer <type> <start> <length> <size>   proxy_set_buffer_bytes of size constant bytes
//   metric <type> <name> <offset>      proxy_increment_metric (defined in proxy_on_configure)
//   close <stream>                     proxy_close_stream
//   continue <stream>                  proxy_continue_stream
//   http_call <cluster in hex> <headers size> <timeout>   proxy_http_call of a request with
//                                      :method, :path and :authority in headers of that size
//   effective                          proxy_set_effective_context(the connection's id)
//   header_value <map> <key in hex>    proxy_get_header_map_value, the value freed
// The callback http_call_response is the answer to the call its connection sent last.

import { free } from "@solo-io/proxy-runtime/malloc";
// Its abort_proc_exit is the release's abort (asconfig.json), as in every filter.
import "@solo-io/proxy-runtime/runtime";
import {
  proxy_close_stream, proxy_continue_stream, proxy_define_metric, proxy_get_buffer_bytes, proxy_get_current_time_nanoseconds,
  proxy_get_header_map_value, proxy_get_log_level, proxy_get_property, proxy_http_call, proxy_increment_metric, proxy_log,
  proxy_set_buffer_bytes, proxy_set_effective_context,
} from "../../assembly/kit/imports";

export { malloc } from "@solo-io/proxy-runtime/malloc";

export function proxy_abi_version_0_2_1(): void {}

const PLUGIN_CONFIGURATION = 7;
const OK = 0;
const RETURNED_POINTER: usize = memory.data(8);
const RETURNED_LENGTH: usize = RETURNED_POINTER + 4;

/** The callbacks with a script, in the order of CALLBACKS. */
const enum Callback { NewConnection, DownstreamData, UpstreamData, DownstreamClose, UpstreamClose, Done, HttpCallResponse }
const CALLBACKS = ["new_connection", "downstream_data", "upstream_data", "downstream_close", "upstream_close", "done", "http_call_response"];

/** The calls a script can make (and `return`). */
const enum Kind { Return, Level, Time, Log, Property, Buffer, SetBuffer, Metric, Close, Continue, HttpCall, Effective, HeaderValue }

/** One host call, its arguments decoded when the script is read. */
class Call {
  kind: Kind = Kind.Return;
  a: i32 = 0;
  b: i32 = 0;
  c: i32 = 0;
  offset: i64 = 0;
  bytes: ArrayBuffer = new ArrayBuffer(0);
  /** http_call: the request's headers */
  headers: ArrayBuffer = new ArrayBuffer(0);
}

/** scripts[callback][n]: the calls of a connection's n-th invocation of that callback. */
let scripts: Call[][][] = [[], [], [], [], [], [], []];
/** What every log line and written buffer holds: printable bytes, as long as the longest use. */
let filler = new ArrayBuffer(0);

class Connection {
  id: u32;
  invocations: StaticArray<i32> = new StaticArray<i32>(7);

  constructor(id: u32) {
    this.id = id;
  }
}

const roots = new Set<u32>();
const connections = new Map<u32, Connection>();
/** the connection called last, as the kit's dispatcher keeps it: callbacks come in runs */
let lastId: u32 = 0;
let last: Connection | null = null;
/** the connection that sent the last HTTP call */
let caller: u32 = 0;

function connectionOf(context_id: u32): Connection | null {
  if (context_id == lastId) return last;
  if (!connections.has(context_id)) return null;
  const connection = connections.get(context_id);
  lastId = context_id;
  last = connection;
  return connection;
}

function digits(value: u32): i32 {
  let count = 1;
  while (value >= 10) {
    value /= 10;
    count++;
  }
  return count;
}

/** Frees the block a host call returned, unread. */
function freeReturned(result: i32): void {
  if (result != OK) return;
  const pointer = load<usize>(RETURNED_POINTER);
  if (pointer != 0) free(pointer);
}

function clearReturned(): void {
  store<usize>(RETURNED_POINTER, 0);
  store<u32>(RETURNED_LENGTH, 0);
}

function run(context_id: u32, callback: Callback): i32 {
  const connection = connectionOf(context_id);
  if (connection === null) return 0;
  const byInvocation = scripts[callback];
  const count = byInvocation.length;
  if (count == 0) return 0;
  const n = connection.invocations[callback];
  connection.invocations[callback] = n + 1;
  const calls = byInvocation[n < count ? n : count - 1];
  let status = 0;
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i];
    switch (call.kind) {
      case Kind.Return:
        status = call.a;
        break;
      case Kind.Level:
        proxy_get_log_level(RETURNED_POINTER);
        break;
      case Kind.Time:
        proxy_get_current_time_nanoseconds(RETURNED_POINTER);
        break;
      case Kind.Log:
        proxy_log(call.a, changetype<usize>(filler), call.b + digits(context_id));
        break;
      case Kind.Property:
        clearReturned();
        freeReturned(proxy_get_property(changetype<usize>(call.bytes), call.bytes.byteLength, RETURNED_POINTER, RETURNED_LENGTH));
        break;
      case Kind.Buffer:
        clearReturned();
        freeReturned(proxy_get_buffer_bytes(call.a, call.b, call.c, RETURNED_POINTER, RETURNED_LENGTH));
        break;
      case Kind.SetBuffer:
        proxy_set_buffer_bytes(call.a, call.b, call.c, changetype<usize>(filler), <usize>call.offset);
        break;
      case Kind.Metric:
        proxy_increment_metric(call.a, call.offset);
        break;
      case Kind.Close:
        proxy_close_stream(call.a);
        break;
      case Kind.Continue:
        proxy_continue_stream(call.a);
        break;
      case Kind.HttpCall:
        store<u32>(RETURNED_POINTER, 0);
        proxy_http_call(
          changetype<usize>(call.bytes), call.bytes.byteLength, changetype<usize>(call.headers), call.headers.byteLength,
          0, 0, 0, 0, call.a, RETURNED_POINTER,
        );
        caller = context_id;
        break;
      case Kind.Effective:
        proxy_set_effective_context(context_id);
        break;
      case Kind.HeaderValue:
        clearReturned();
        freeReturned(proxy_get_header_map_value(call.a, changetype<usize>(call.bytes), call.bytes.byteLength, RETURNED_POINTER, RETURNED_LENGTH));
        break;
    }
  }
  return status;
}

// ---------------------------------------------------------------- reading the script

function hexBytes(hex: string): ArrayBuffer {
  const bytes = new ArrayBuffer(hex.length >> 1);
  for (let i = 0; i < bytes.byteLength; i++) {
    store<u8>(changetype<usize>(bytes) + i, <u8>I32.parseInt(hex.substr(i * 2, 2), 16));
  }
  return bytes;
}

function defineMetric(type: i32, name: string): u32 {
  const utf8 = String.UTF8.encode(name);
  store<u32>(RETURNED_POINTER, 0);
  proxy_define_metric(type, changetype<usize>(utf8), utf8.byteLength, RETURNED_POINTER);
  return load<u32>(RETURNED_POINTER);
}

/** A pairs encoding of :method GET, :path / and an :authority that makes it `size` bytes (60 at least). */
function requestHeaders(size: i32): ArrayBuffer {
  const names = [":method", ":path", ":authority"];
  const values = ["GET", "/", "x".repeat(max(0, size - 60))];
  let text = "";
  for (let i = 0; i < 3; i++) text += names[i] + "\0" + values[i] + "\0";
  const body = String.UTF8.encode(text);
  const encoded = new ArrayBuffer(4 + 24 + body.byteLength);
  const base = changetype<usize>(encoded);
  store<u32>(base, 3);
  for (let i = 0; i < 3; i++) {
    store<u32>(base + 4 + i * 8, names[i].length);
    store<u32>(base + 8 + i * 8, values[i].length);
  }
  memory.copy(base + 28, changetype<usize>(body), body.byteLength);
  return encoded;
}

/** The call of one script line's words after `<callback> <n>`; its longest use of the filler. */
function parseCall(words: string[]): Call {
  const call = new Call();
  const name = words[2];
  if (name == "return") {
    call.a = I32.parseInt(words[3]);
  } else if (name == "level") {
    call.kind = Kind.Level;
  } else if (name == "time") {
    call.kind = Kind.Time;
  } else if (name == "log") {
    call.kind = Kind.Log;
    call.a = I32.parseInt(words[3]);
    call.b = I32.parseInt(words[4]);
  } else if (name == "property") {
    call.kind = Kind.Property;
    call.bytes = hexBytes(words[3]);
  } else if (name == "buffer" || name == "set_buffer") {
    call.kind = name == "buffer" ? Kind.Buffer : Kind.SetBuffer;
    call.a = I32.parseInt(words[3]);
    call.b = I32.parseInt(words[4]);
    call.c = I32.parseInt(words[5]);
    if (call.kind == Kind.SetBuffer) call.offset = I64.parseInt(words[6]);
  } else if (name == "metric") {
    call.kind = Kind.Metric;
    call.a = defineMetric(I32.parseInt(words[3]), words[4]);
    call.offset = I64.parseInt(words[5]);
  } else if (name == "close" || name == "continue") {
    call.kind = name == "close" ? Kind.Close : Kind.Continue;
    call.a = I32.parseInt(words[3]);
  } else if (name == "http_call") {
    call.kind = Kind.HttpCall;
    call.bytes = hexBytes(words[3]);
    call.headers = requestHeaders(I32.parseInt(words[4]));
    call.a = I32.parseInt(words[5]);
  } else if (name == "effective") {
    call.kind = Kind.Effective;
  } else if (name == "header_value") {
    call.kind = Kind.HeaderValue;
    call.a = I32.parseInt(words[3]);
    call.bytes = hexBytes(words[4]);
  }
  return call;
}

function readScript(text: string): void {
  scripts = [[], [], [], [], [], [], []];
  let longest = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const words = lines[i].split(" ");
    if (words.length < 3) continue;
    const callback = CALLBACKS.indexOf(words[0]);
    if (callback < 0) continue;
    const n = I32.parseInt(words[1]);
    const byInvocation = scripts[callback];
    while (byInvocation.length <= n) byInvocation.push([]);
    const call = parseCall(words);
    byInvocation[n].push(call);
    if (call.kind == Kind.Log) longest = max(longest, call.b + 10);
    if (call.kind == Kind.SetBuffer) longest = max(longest, <i32>call.offset);
  }
  filler = new ArrayBuffer(longest);
  memory.fill(changetype<usize>(filler), 0x78, longest); // "x"
}

// ---------------------------------------------------------------- the ABI

export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  if (context_id == lastId) {
    lastId = 0;
    last = null;
  }
  if (root_context_id == 0) roots.add(context_id);
  else if (roots.has(root_context_id)) connections.set(context_id, new Connection(context_id));
}

export function proxy_on_vm_start(root_context_id: u32, vm_configuration_size: u32): u32 {
  return roots.has(root_context_id) ? 1 : 0;
}

export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  if (!roots.has(root_context_id)) return 0;
  clearReturned();
  if (proxy_get_buffer_bytes(PLUGIN_CONFIGURATION, 0, configuration_size, RETURNED_POINTER, RETURNED_LENGTH) == OK) {
    const pointer = load<usize>(RETURNED_POINTER);
    if (pointer != 0) {
      readScript(String.UTF8.decodeUnsafe(pointer, load<u32>(RETURNED_LENGTH)));
      free(pointer);
    }
  }
  return 1;
}

export function proxy_on_new_connection(context_id: u32): i32 {
  return run(context_id, Callback.NewConnection);
}

export function proxy_on_downstream_data(context_id: u32, data_size: u32, end_of_stream: u32): i32 {
  return run(context_id, Callback.DownstreamData);
}

export function proxy_on_upstream_data(context_id: u32, data_size: u32, end_of_stream: u32): i32 {
  return run(context_id, Callback.UpstreamData);
}

export function proxy_on_downstream_connection_close(context_id: u32, peer_type: u32): void {
  run(context_id, Callback.DownstreamClose);
}

export function proxy_on_upstream_connection_close(context_id: u32, peer_type: u32): void {
  run(context_id, Callback.UpstreamClose);
}

export function proxy_on_done(context_id: u32): u32 {
  run(context_id, Callback.Done);
  return 1;
}

export function proxy_on_http_call_response(context_id: u32, token: u32, headers: u32, body_size: u32, trailers: u32): void {
  run(caller, Callback.HttpCallResponse);
}

export function proxy_on_log(context_id: u32): void {}

export function proxy_on_delete(context_id: u32): void {
  if (context_id == lastId) {
    lastId = 0;
    last = null;
  }
  if (!connections.delete(context_id)) roots.delete(context_id);
}
