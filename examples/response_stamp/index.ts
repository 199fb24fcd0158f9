// response_stamp (build/response_stamp.wasm): acts on what the upstream sends back. It writes a
// line of its own right after the upstream's first line (for HTTP: a header after the status
// line, `HTTP/1.1 200 OK`), and counts every byte the upstream sends. The client's bytes are
// left alone.
//
// Upstream data comes to proxy_on_upstream_data, one write towards the client at a time. Envoy
// does not support StopIteration there (docs/envoy-host.md §3): a filter cannot hold the
// upstream's bytes, it can only change each chunk as it passes. This one needs no holding: it
// looks for the first LF in each chunk until it finds one, passes the chunks before it on as
// they are, and rewrites the chunk that holds it, wherever the network cut the stream.

import { Connection, FilterStatusValues, indexOfByte, line, logLevel, LogLevelValues, NetworkFilter, resultName, WasmResultValues } from "../../assembly/kit";
import { StampPlugin } from "./settings";

export * from "../../assembly/kit/exports";

const LF: u8 = 0x0a;

class StampConnection extends Connection {
  private plugin: StampPlugin;
  /** bytes the upstream has sent so far (the stamp not included) */
  private upstreamBytes: u64 = 0;
  private stamped: bool = false;

  constructor(id: u32, plugin: StampPlugin) {
    super(id);
    this.plugin = plugin;
  }

  // proxy_on_upstream_data: `size` bytes on their way to the client, all new (nothing is held).
  onUpstreamData(size: usize, endOfStream: bool): FilterStatusValues {
    const before = this.upstreamBytes;
    this.upstreamBytes += size;
    this.plugin.upstreamBytes.add(<i64>size);
    if (this.stamped || size == 0) return FilterStatusValues.Continue;
    const stream = this.upstream;
    const chunk = stream.read(0, size).bytes;
    const lineFeedAt = indexOfByte(chunk, LF);
    if (lineFeedAt < 0) return FilterStatusValues.Continue; // the first line goes on in the next chunk
    this.stamped = true;
    // proxy_set_buffer_bytes can only replace from the start or append at the end: an insertion
    // in the middle is a replace of the whole chunk with the chunk as it should be.
    const result = stream.replace(withInsertion(chunk, lineFeedAt + 1, this.plugin.settings.stampLine));
    if (result != WasmResultValues.Ok) {
      this.log(LogLevelValues.error, "cannot stamp the response: " + resultName(result));
      return FilterStatusValues.Continue;
    }
    this.plugin.stamped.add(1);
    if (logLevel() <= LogLevelValues.info) {
      this.beginLine();
      line.text("stamped after the upstream's first line (");
      line.decimal(before + <u64>lineFeedAt + 1);
      line.text(" bytes)");
      line.send(LogLevelValues.info);
    }
    return FilterStatusValues.Continue;
  }

  // proxy_on_done: once, as the connection ends.
  onDone(): void {
    if (logLevel() > LogLevelValues.info) return;
    this.beginLine();
    line.text("the upstream sent ");
    line.decimal(this.upstreamBytes);
    line.text(" bytes");
    if (!this.stamped && this.upstreamBytes > 0) line.text(", no end of line: not stamped");
    line.send(LogLevelValues.info);
  }
}

/** `bytes` with `inserted` at `at`. */
function withInsertion(bytes: ArrayBuffer, at: i32, inserted: ArrayBuffer): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength + inserted.byteLength);
  const to = changetype<usize>(out);
  memory.copy(to, changetype<usize>(bytes), at);
  memory.copy(to + at, changetype<usize>(inserted), inserted.byteLength);
  memory.copy(to + at + inserted.byteLength, changetype<usize>(bytes) + at, bytes.byteLength - at);
  return out;
}

// Its root id, and "" for a configuration that leaves root_id out.
@global const networkFilter = new NetworkFilter<StampPlugin, StampConnection>(["response_stamp", ""]);
