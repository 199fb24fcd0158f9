// One direction of a connection's data, as a filter sees it inside proxy_on_downstream_data or
// proxy_on_upstream_data: what the Go SDK's TcpContext offers for it (read, replace, prepend,
// append, close, continue), and how many of the bytes are new.

import { BufferTypeValues, FilterStatusValues, StreamTypeValues, WasmResultValues } from "@solo-io/proxy-runtime/runtime";
import { closeStream, continueStream, getBufferBytes, HostBytes, setBufferBytes } from "./host";

/** A start past any buffer's end: Envoy appends there (docs/envoy-host.md §4). */
const AT_THE_END: u32 = u32.MAX_VALUE;

/** One direction's data inside its callback: read, replace, prepend, append, close, resume. */
export class StreamData {
  private buffer: BufferTypeValues;
  private stream: StreamTypeValues;
  /** bytes in the buffer now: the size the host reported, changed by this filter's edits */
  size: usize = 0;
  /**
   * bytes that arrived for this callback. Downstream, after a StopIteration Envoy keeps the bytes
   * and reports them again with the next ones (docs/envoy-host.md §3): `size` counts them twice,
   * `received` once.
   */
  received: usize = 0;
  endOfStream: bool = false;
  /** what StopIteration held back in the last callback, as far as this filter knows */
  private retained: usize = 0;
  private resumed: bool = false;

  constructor(buffer: BufferTypeValues, stream: StreamTypeValues) {
    this.buffer = buffer;
    this.stream = stream;
  }

  /** The dispatcher, as the callback begins. */
  enterCallback(size: usize, endOfStream: bool): void {
    this.received = size - min(size, this.retained);
    this.size = size;
    this.endOfStream = endOfStream;
    this.resumed = false;
  }

  /**
   * The dispatcher, as the callback returns `status`. Envoy keeps the downstream buffer on
   * StopIteration unless the filter resumed; upstream, StopIteration is not supported and
   * nothing is kept.
   */
  leaveCallback(status: FilterStatusValues): void {
    const keeps = status != FilterStatusValues.Continue && !this.resumed && this.stream == StreamTypeValues.Downstream;
    this.retained = keeps ? this.size : 0;
  }

  /** `length` bytes from `start` (the host clamps the range to the buffer), into `into` (see HostBytes). */
  read(start: usize, length: usize, into: HostBytes = new HostBytes()): HostBytes {
    return getBufferBytes(this.buffer, <u32>start, <u32>length, into);
  }

  /** The whole buffer in place of what it holds. */
  replace(data: ArrayBuffer): WasmResultValues {
    return this.edited(setBufferBytes(this.buffer, 0, <u32>this.size, data), data.byteLength);
  }

  /** `data` before the buffer's bytes. */
  prepend(data: ArrayBuffer): WasmResultValues {
    return this.edited(setBufferBytes(this.buffer, 0, 0, data), this.size + data.byteLength);
  }

  /** `data` after the buffer's bytes. */
  append(data: ArrayBuffer): WasmResultValues {
    return this.edited(setBufferBytes(this.buffer, AT_THE_END, 0, data), this.size + data.byteLength);
  }

  private edited(result: WasmResultValues, sizeAfter: usize): WasmResultValues {
    if (result == WasmResultValues.Ok) this.size = sizeAfter;
    return result;
  }

  /**
   * Closes the connection this side belongs to (proxy_close_stream). In Envoy both sides close
   * the one downstream connection of a network filter, after the callback, flushing what is
   * already written to the client; tcp_proxy then closes the upstream connection.
   */
  close(): WasmResultValues {
    return closeStream(this.stream);
  }

  /**
   * Passes on what StopIteration held (proxy_continue_stream). Downstream only: Envoy answers
   * Unimplemented for the upstream side.
   */
  resume(): WasmResultValues {
    const result = continueStream(this.stream);
    if (result == WasmResultValues.Ok) {
      this.resumed = true;
      this.retained = 0;
    }
    return result;
  }
}
