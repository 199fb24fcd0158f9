// The host calls a filter makes for one connection, read from the local host's trace events:
// what the same-calls baseline (bench/assembly/same-calls.ts) is told to repeat, what bench/README.md
// lists per callback, and what checks that the baseline repeats them exactly.

import type { HostCallEvent, TraceEvent } from "../host/wasm/api.ts";

/** One callback into the module for a connection, with the host calls made inside it. */
export interface CallbackCall {
  /** `new_connection`, `downstream_data`, ... (the export's name without `proxy_on_`) */
  callback: string;
  /** the value returned, when the callback returns one */
  status: number | undefined;
  calls: HostCallEvent[];
}

interface Metric {
  type: string;
  name: string;
}

/** What one VM's trace tells: each connection's callbacks in order, and the metrics its root defined. */
export interface TracedVm {
  connections: Map<number, CallbackCall[]>;
  metrics: Map<number, Metric>;
}

/** The callbacks that belong to a connection (their first argument is its context id). */
const CONNECTION_CALLBACKS = new Set([
  "new_connection", "downstream_data", "upstream_data", "downstream_connection_close", "upstream_connection_close", "done",
]);
/** Envoy calls it on the root context (docs/envoy-host.md §19): it belongs to the connection that sent the call. */
const HTTP_CALL_RESPONSE = "http_call_response";

const METRIC_TYPES: Record<string, number> = { counter: 0, gauge: 1, histogram: 2 };

/** Reads the trace events of the VM on `thread`. */
export function parseTrace(events: TraceEvent[], thread: number): TracedVm {
  const connections = new Map<number, CallbackCall[]>();
  const metrics = new Map<number, Metric>();
  /** token → the connection that sent the call */
  const callers = new Map<number, number>();
  let current: CallbackCall | null = null;
  let currentId = 0;
  for (const event of events) {
    if (event.thread !== thread) continue;
    if (event.kind === "enter") {
      const callback = event.name.replace(/^proxy_on_/, "");
      const id = callback === HTTP_CALL_RESPONSE ? callers.get(event.args[1]) : event.args[0];
      current = CONNECTION_CALLBACKS.has(callback) || (callback === HTTP_CALL_RESPONSE && id !== undefined) ? { callback, status: undefined, calls: [] } : null;
      if (current !== null && id !== undefined) {
        currentId = id;
        connections.set(id, [...(connections.get(id) ?? []), current]);
      }
    } else if (event.kind === "leave") {
      if (current !== null) current.status = event.result;
      current = null;
    } else {
      const { type, name, id } = event.meaning;
      if (event.name === "proxy_define_metric" && id !== undefined) metrics.set(Number(id), { type: String(type), name: String(name) });
      if (event.name === "proxy_http_call" && event.meaning.token !== undefined && current !== null) callers.set(Number(event.meaning.token), currentId);
      current?.calls.push(event);
    }
  }
  return { connections, metrics };
}

function digits(id: number): number {
  return String(id).length;
}

/** A property path as the trace means it (segments joined by dots), back to its bytes. */
function propertyPath(call: HostCallEvent): Buffer {
  const shown = String(call.meaning.path);
  const path = Buffer.from(shown.replaceAll(".", "\0"));
  if (path.length !== Number(call.args[1])) {
    throw new Error(`property path "${shown}" is ${call.args[1]} bytes in the call: a segment holds a dot or was cut in the trace`);
  }
  return path;
}

function metricOf(vm: TracedVm, call: HostCallEvent): Metric {
  const metric = vm.metrics.get(Number(call.args[0]));
  if (metric === undefined) throw new Error(`metric id ${call.args[0]} was not defined in the trace`);
  return metric;
}

/** One host call as a line of the same-calls script (see bench/assembly/same-calls.ts). */
function scriptCall(vm: TracedVm, id: number, call: HostCallEvent): string {
  const a = call.args.map(Number);
  switch (call.name) {
    case "proxy_get_log_level":
      return "level";
    case "proxy_get_current_time_nanoseconds":
      return "time";
    case "proxy_log":
      // Every line a connection logs starts `connection <id>: `: its length follows the id.
      return `log ${a[0]} ${a[2] - digits(id)}`;
    case "proxy_get_property":
      return `property ${propertyPath(call).toString("hex")}`;
    case "proxy_get_buffer_bytes":
      return `buffer ${a[0]} ${a[1]} ${a[2]}`;
    case "proxy_set_buffer_bytes":
      return `set_buffer ${a[0]} ${a[1]} ${a[2]} ${a[4]}`;
    case "proxy_increment_metric": {
      const metric = metricOf(vm, call);
      return `metric ${METRIC_TYPES[metric.type]} ${metric.name} ${call.args[1]}`;
    }
    case "proxy_close_stream":
      return `close ${a[0]}`;
    case "proxy_continue_stream":
      return `continue ${a[0]}`;
    case "proxy_http_call":
      // the baseline sends the same cluster a request of the same size (its body empty, as the filter's)
      if (a[5] !== 0) throw new Error("the same-calls baseline sends HTTP calls without a body");
      return `http_call ${Buffer.from(String(call.meaning.cluster)).toString("hex")} ${a[3]} ${a[8]}`;
    case "proxy_set_effective_context":
      return "effective";
    case "proxy_get_header_map_value":
      return `header_value ${a[0]} ${Buffer.from(String(call.meaning.key)).toString("hex")}`;
  }
  throw new Error(`the same-calls baseline cannot make ${call.name}(${a.join(", ")})`);
}

/** The names of the baseline's callbacks, which are the export names with `proxy_on_` left out. */
function scriptCallback(callback: string): string {
  return callback.replace("_connection_close", "_close");
}

/** The same-calls baseline's configuration: the host calls of connection `id`, callback by callback. */
export function sameCallsScript(vm: TracedVm, id: number): string {
  const script: string[] = [];
  const invocations = new Map<string, number>();
  for (const run of connectionCalls(vm, id)) {
    const callback = scriptCallback(run.callback);
    const n = invocations.get(callback) ?? 0;
    invocations.set(callback, n + 1);
    script.push(`${callback} ${n} return ${run.status ?? 0}`);
    for (const call of run.calls) script.push(`${callback} ${n} ${scriptCall(vm, id, call)}`);
  }
  return script.join("\n");
}

export function connectionCalls(vm: TracedVm, id: number): CallbackCall[] {
  const calls = vm.connections.get(id);
  if (calls === undefined) throw new Error(`no connection ${id} in the trace`);
  return calls;
}

/**
 * A host call as a filter's user would name it, with what makes it cost what it costs: the
 * property path, the log level and length, the buffer range, the metric. Two connections make the
 * same calls when these are equal, call by call.
 */
export function describeCall(call: HostCallEvent): string {
  const a = call.args;
  const m = call.meaning;
  switch (call.name) {
    case "proxy_log":
      return `proxy_log(${m.level}, ${a[2]} bytes)`;
    case "proxy_get_property":
      return `proxy_get_property(${m.path}) ${call.resultName}`;
    case "proxy_get_buffer_bytes":
      return `proxy_get_buffer_bytes(${m.buffer}, ${a[1]}, ${a[2]})`;
    case "proxy_set_buffer_bytes":
      return `proxy_set_buffer_bytes(${m.buffer}, ${a[1]}, ${a[2]}, ${a[4]} bytes)`;
    case "proxy_increment_metric":
      return `proxy_increment_metric(${m.metric} ${BigInt(m.delta) < 0n ? "-=" : "+="} ${BigInt(m.delta) < 0n ? -BigInt(m.delta) : m.delta})`;
    case "proxy_close_stream":
      return `proxy_close_stream(${m.stream})`;
    case "proxy_continue_stream":
      return `proxy_continue_stream(${m.stream})`;
    case "proxy_http_call":
      return `proxy_http_call(${m.cluster}, ${a[3]} bytes of headers)`;
    case "proxy_get_header_map_value":
      return `proxy_get_header_map_value(${m.map}, ${m.key})`;
  }
  return call.name;
}

/** The host calls of connection `id` as `callback: call` lines, in order. */
export function describeConnection(vm: TracedVm, id: number): string[] {
  return connectionCalls(vm, id).flatMap((run) => run.calls.map((call) => `${run.callback}: ${describeCall(call)}`));
}

/** What each callback of connection `id` returned, in order. */
export function statuses(vm: TracedVm, id: number): string[] {
  return connectionCalls(vm, id).map((run) => `${run.callback} returns ${run.status ?? "nothing"}`);
}
