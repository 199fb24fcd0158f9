// A mocked Envoy host for the as-pect specs: the env functions the plugin imports, behaving as
// docs/envoy-host.md describes (out-pointers filled through the module's malloc, NotFound for absent
// properties, BadArgument for a counter increment of 0), and a `mock` import module that lets a
// spec arrange properties, buffers and the log level and read back log lines and metric values.

const decoder = new TextDecoder();

/** A pairs encoding as `name=value,name=value` (docs/envoy-host.md §19), or `bad pairs`. */
function pairsText(blob) {
  const data = Buffer.from(blob);
  if (data.length < 4) return "bad pairs";
  const count = data.readUInt32LE(0);
  let offset = 4 + count * 8;
  const out = [];
  for (let i = 0; i < count; i++) {
    const nameLength = data.readUInt32LE(4 + i * 8);
    const valueLength = data.readUInt32LE(8 + i * 8);
    const name = data.subarray(offset, offset + nameLength).toString();
    offset += nameLength + 1;
    const value = data.subarray(offset, offset + valueLength).toString();
    offset += valueLength + 1;
    out.push(`${name}=${value}`);
  }
  return offset === data.length ? out.join(",") : "bad pairs";
}

function createHostMock(memory) {
  let exports = null;
  let properties = new Map();
  let buffers = new Map();
  let logs = [];
  let metricNames = new Map();
  let metricValues = new Map();
  let nextMetricId = 4;
  let nowNanoseconds = 0n;
  // What proxy_get_log_level answers: trace unless a spec sets it, so every line is built.
  let hostLogLevel = 0;
  let hostLogLevelResult = 0;
  let hostLogLevelQueries = 0;
  let propertyReads = 0;
  // proxy_continue_stream / proxy_close_stream calls, as "continue 2" or "close 3"
  let streamCalls = [];
  // what proxy_continue_stream answers: Ok unless a spec sets it
  let continueResult = 0;
  // shared data as cpp-host keeps it (docs/envoy-host.md §20): key → { value, cas }
  let shared = new Map();
  let nextCas = 1;
  // what proxy_get/set_shared_data answer instead of the store: Ok (the store) unless a spec sets it
  let sharedResult = 0;
  // another VM's update after each of the next `times` reads of `key`: the counter goes up by one
  let conflict = null;
  // the last proxy_set_tick_period_milliseconds, -1 for none; what it answers
  let tickPeriod = -1;
  let tickResult = 0;
  // HTTP calls (docs/envoy-host.md §19): clusters that exist, the requests sent, the answer's headers
  let httpCalls = [];
  let lastToken = 0;
  let responseHeaders = new Map();
  let effectiveContexts = [];

  const bytes = (pointer, length) => new Uint8Array(memory.buffer, pointer, length).slice();
  const text = (pointer, length) => decoder.decode(bytes(pointer, length));
  const view = () => new DataView(memory.buffer);

  function returnBytes(data, pointerOut, sizeOut) {
    let pointer = 0;
    if (data.length > 0) {
      pointer = exports.malloc(data.length);
      new Uint8Array(memory.buffer).set(data, pointer);
    }
    view().setUint32(pointerOut, pointer, true);
    view().setUint32(sizeOut, data.length, true);
  }

  function storeShared(key, value) {
    shared.set(key, { value, cas: nextCas });
    nextCas = nextCas === 0xffffffff ? 1 : nextCas + 1;
  }

  const env = {
    proxy_log(level, pointer, length) {
      logs.push({ level, message: text(pointer, length) });
      return 0;
    },
    proxy_get_log_level(levelOut) {
      hostLogLevelQueries++;
      if (hostLogLevelResult !== 0) return hostLogLevelResult;
      view().setUint32(levelOut, hostLogLevel, true);
      return 0;
    },
    proxy_get_property(pathPointer, pathLength, pointerOut, sizeOut) {
      propertyReads++;
      const value = properties.get(text(pathPointer, pathLength));
      if (value === undefined) return 1; // NotFound
      if (typeof value === "number") return value; // a spec-chosen failure
      returnBytes(value, pointerOut, sizeOut);
      return 0;
    },
    proxy_get_buffer_bytes(type, start, length, pointerOut, sizeOut) {
      if (type > 8) return 2;
      const buffer = buffers.get(type) ?? new Uint8Array(0);
      returnBytes(buffer.subarray(Math.min(start, buffer.length), Math.min(buffer.length, start + length)), pointerOut, sizeOut);
      return 0;
    },
    // docs/envoy-host.md §4: start 0 drains `length` bytes and prepends, a start at or past the end appends.
    proxy_set_buffer_bytes(type, start, length, pointer, size) {
      if (type !== 2 && type !== 3) return 1;
      const current = buffers.get(type) ?? new Uint8Array(0);
      const data = bytes(pointer, size);
      const begin = start >>> 0;
      if (begin === 0) buffers.set(type, Buffer.concat([data, current.subarray(Math.min(length >>> 0, current.length))]));
      else if (begin >= current.length) buffers.set(type, Buffer.concat([current, data]));
      else return 2;
      return 0;
    },
    proxy_continue_stream(stream) {
      streamCalls.push(`continue ${stream}`);
      return continueResult;
    },
    proxy_close_stream(stream) {
      streamCalls.push(`close ${stream}`);
      return 0;
    },
    // Envoy refuses an unknown cluster with BadArgument; tokens go by 4 (cpp-host nextHttpCallId)
    proxy_http_call(clusterPointer, clusterLength, headersPointer, headersLength, bodyPointer, bodyLength, trailersPointer, trailersLength, timeout, tokenOut) {
      view().setUint32(tokenOut, 0, true);
      const cluster = text(clusterPointer, clusterLength);
      if (cluster !== "authz") return 2;
      lastToken += 4;
      httpCalls.push(`${cluster} ${timeout} ${pairsText(bytes(headersPointer, headersLength))} body ${bodyLength}`);
      view().setUint32(tokenOut, lastToken, true);
      return 0;
    },
    proxy_set_effective_context(id) {
      effectiveContexts.push(id);
      return 0;
    },
    proxy_get_header_map_value(map, keyPointer, keyLength, pointerOut, sizeOut) {
      if (map !== 6) return 2;
      const value = responseHeaders.get(text(keyPointer, keyLength));
      if (value === undefined) return 1;
      returnBytes(Buffer.from(value), pointerOut, sizeOut);
      return 0;
    },
    proxy_get_current_time_nanoseconds(pointerOut) {
      view().setBigUint64(pointerOut, nowNanoseconds, true);
      return 0;
    },
    proxy_define_metric(type, pointer, length, idOut) {
      const name = text(pointer, length);
      const id = nextMetricId + type;
      nextMetricId += 4;
      metricNames.set(id, name);
      if (!metricValues.has(name)) metricValues.set(name, 0n);
      view().setUint32(idOut, id, true);
      return 0;
    },
    proxy_get_shared_data(keyPointer, keyLength, pointerOut, sizeOut, casOut) {
      if (sharedResult !== 0) return sharedResult;
      const key = text(keyPointer, keyLength);
      const entry = shared.get(key);
      if (entry === undefined) return 1; // NotFound
      returnBytes(entry.value, pointerOut, sizeOut);
      view().setUint32(casOut, entry.cas, true);
      if (conflict !== null && conflict.key === key && conflict.times > 0) {
        conflict.times--;
        const next = Buffer.alloc(8);
        next.writeBigInt64LE(Buffer.from(entry.value).readBigInt64LE() + 1n);
        storeShared(key, next);
      }
      return 0;
    },
    // A new key takes any cas; an existing one 0 or its own (CasMismatch 8 otherwise).
    proxy_set_shared_data(keyPointer, keyLength, pointer, size, cas) {
      if (sharedResult !== 0) return sharedResult;
      const key = text(keyPointer, keyLength);
      const entry = shared.get(key);
      if (entry !== undefined && cas !== 0 && cas >>> 0 !== entry.cas) return 8;
      storeShared(key, bytes(pointer, size));
      return 0;
    },
    proxy_set_tick_period_milliseconds(period) {
      if (tickResult !== 0) return tickResult;
      tickPeriod = period >>> 0;
      return 0;
    },
    proxy_record_metric(id, value) {
      const name = metricNames.get(id);
      if (name === undefined) return 1;
      metricValues.set(name, BigInt(value));
      return 0;
    },
    proxy_increment_metric(id, offset) {
      const name = metricNames.get(id);
      if (name === undefined) return 1;
      if ((id & 3) === 0 && offset <= 0n) return 2; // counters only grow
      metricValues.set(name, metricValues.get(name) + BigInt(offset));
      return 0;
    },
  };

  const control = {
    reset() {
      properties = new Map();
      buffers = new Map();
      logs = [];
      metricNames = new Map();
      metricValues = new Map();
      nowNanoseconds = 0n;
      hostLogLevel = 0;
      hostLogLevelResult = 0;
      hostLogLevelQueries = 0;
      propertyReads = 0;
      streamCalls = [];
      continueResult = 0;
      shared = new Map();
      nextCas = 1;
      sharedResult = 0;
      conflict = null;
      tickPeriod = -1;
      tickResult = 0;
      httpCalls = [];
      lastToken = 0;
      responseHeaders = new Map();
      effectiveContexts = [];
    },
    setResponseHeader(keyPointer, keyLength, valuePointer, valueLength) {
      responseHeaders.set(text(keyPointer, keyLength), text(valuePointer, valueLength));
    },
    httpCallCount() {
      return httpCalls.length;
    },
    httpCallLength(index) {
      return Buffer.byteLength(httpCalls[index]);
    },
    copyHttpCall(index, pointer) {
      new Uint8Array(memory.buffer).set(Buffer.from(httpCalls[index]), pointer);
    },
    setProperty(pathPointer, pathLength, valuePointer, valueLength) {
      properties.set(text(pathPointer, pathLength), bytes(valuePointer, valueLength));
    },
    failProperty(pathPointer, pathLength, result) {
      properties.set(text(pathPointer, pathLength), result);
    },
    setBuffer(type, pointer, length) {
      buffers.set(type, bytes(pointer, length));
    },
    setTime(milliseconds) {
      nowNanoseconds = BigInt(milliseconds) * 1000000n;
    },
    setHostLogLevel(level) {
      hostLogLevel = level;
    },
    failHostLogLevel(result) {
      hostLogLevelResult = result;
    },
    hostLogLevelQueries() {
      return hostLogLevelQueries;
    },
    propertyReads() {
      return propertyReads;
    },
    setContinueResult(result) {
      continueResult = result;
    },
    streamCallCount() {
      return streamCalls.length;
    },
    streamCallLength(index) {
      return streamCalls[index].length;
    },
    copyStreamCall(index, pointer) {
      new Uint8Array(memory.buffer).set(Buffer.from(streamCalls[index]), pointer);
    },
    bufferLength(type) {
      return (buffers.get(type) ?? new Uint8Array(0)).length;
    },
    copyBuffer(type, pointer) {
      new Uint8Array(memory.buffer).set(buffers.get(type) ?? new Uint8Array(0), pointer);
    },
    logCount() {
      return logs.length;
    },
    logLevel(index) {
      return logs[index].level;
    },
    logLength(index) {
      return Buffer.byteLength(logs[index].message);
    },
    copyLog(index, pointer) {
      new Uint8Array(memory.buffer).set(Buffer.from(logs[index].message), pointer);
    },
    setSharedData(keyPointer, keyLength, pointer, length) {
      storeShared(text(keyPointer, keyLength), bytes(pointer, length));
    },
    sharedDataLength(keyPointer, keyLength) {
      const entry = shared.get(text(keyPointer, keyLength));
      return entry === undefined ? -1 : entry.value.length;
    },
    copySharedData(keyPointer, keyLength, pointer) {
      new Uint8Array(memory.buffer).set(shared.get(text(keyPointer, keyLength)).value, pointer);
    },
    failSharedData(result) {
      sharedResult = result;
    },
    conflictAfterReads(keyPointer, keyLength, times) {
      conflict = { key: text(keyPointer, keyLength), times };
    },
    tickPeriod() {
      return tickPeriod;
    },
    failTickPeriod(result) {
      tickResult = result;
    },
    metric(pointer, length) {
      const value = metricValues.get(text(pointer, length));
      return value === undefined ? -1 : Number(value);
    },
  };

  return {
    imports: { env, mock: control, wasi_unstable: { proc_exit() {} } },
    bind(instanceExports) {
      exports = instanceExports;
    },
  };
}

module.exports = { createHostMock };
