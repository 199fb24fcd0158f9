// redact (build/redact.wasm): replaces a secret in the client's bytes, wherever it falls in the
// stream, before tcp_proxy sends them upstream. The upstream's bytes are left alone.
//
// Envoy hands the filter the client's bytes chunk by chunk, cut wherever the network cut them: a
// secret may begin at the end of one chunk and end in the next. So the filter rewrites each chunk
// in place (proxy_set_buffer_bytes over the whole buffer) and keeps back, in its own memory, the
// last bytes that could begin a match (at most the secret's length minus one); they go out in
// front of the next chunk, or as they are at the client's end of stream.

import { Connection, FilterStatusValues, line, logLevel, LogLevelValues, NetworkFilter, resultName, WasmResultValues } from "../../assembly/kit";
import { Rewriter } from "./rewriter";
import { RedactPlugin } from "./settings";

export * from "../../assembly/kit/exports";

/** Bytes of a rewritten chunk the debug line shows. */
const SHOWN_BYTES: usize = 256;

class RedactConnection extends Connection {
  private plugin: RedactPlugin;
  private rewriter: Rewriter;
  /** replacements made on this connection, for the line logged at its end */
  private replacements: u64 = 0;

  constructor(id: u32, plugin: RedactPlugin) {
    super(id);
    this.plugin = plugin;
    this.rewriter = new Rewriter(plugin.settings.find, plugin.settings.replaceWith);
  }

  // proxy_on_downstream_data. The filter never leaves bytes in Envoy's buffer (it keeps its tail
  // itself), so the `size` bytes there are all new.
  onDownstreamData(size: usize, endOfStream: bool): FilterStatusValues {
    const stream = this.downstream;
    const heldBefore = this.rewriter.held;
    const chunk = stream.read(0, size).bytes;
    const out = this.rewriter.rewrite(chunk, endOfStream);
    const replaced = this.rewriter.replaced;
    // Nothing changed and nothing held either side: the buffer goes on as it is, no copy.
    if (replaced > 0 || heldBefore > 0 || this.rewriter.held > 0) {
      const result = stream.replace(out);
      if (result != WasmResultValues.Ok) {
        // The secret might go through unredacted: close rather than pass it.
        this.log(LogLevelValues.error, "cannot rewrite the client's bytes: " + resultName(result));
        stream.close();
        return FilterStatusValues.StopIteration;
      }
    }
    if (replaced > 0) {
      this.replacements += replaced;
      this.plugin.replacements.add(replaced);
      if (logLevel() <= LogLevelValues.debug) this.logRewritten(replaced, out);
    }
    // All of it is kept back (it may begin a match): nothing to pass on yet. The buffer is empty,
    // so StopIteration holds nothing in Envoy; the next chunk calls the filter again.
    if (out.byteLength == 0 && !endOfStream) return FilterStatusValues.StopIteration;
    return FilterStatusValues.Continue;
  }

  /** At debug: `rewrote 1 match: "password=*******&..."`, the bytes as they go on (the secret is gone from them). */
  private logRewritten(replaced: u32, out: ArrayBuffer): void {
    this.beginLine();
    line.text("rewrote ");
    line.decimal(replaced);
    line.text(replaced == 1 ? " match: " : " matches: ");
    line.preview(out, SHOWN_BYTES, "\""); // escaped, and at most SHOWN_BYTES of them
    line.send(LogLevelValues.debug);
  }

  // proxy_on_done: once, as the connection ends. Bytes still held back are lost with it: the
  // client left without an end of stream (a reset, say), so they had nowhere to go.
  onDone(): void {
    const held = this.rewriter.held;
    if ((this.replacements == 0 && held == 0) || logLevel() > LogLevelValues.info) return;
    this.beginLine();
    line.text("redacted ");
    line.decimal(this.replacements);
    line.text(this.replacements == 1 ? " time" : " times");
    if (held > 0) {
      line.text("; ");
      line.decimal(held);
      line.text(" bytes held back were never sent: the client left without ending its stream");
    }
    line.send(LogLevelValues.info);
  }
}

// Its root id, and "" for a configuration that leaves root_id out.
@global const networkFilter = new NetworkFilter<RedactPlugin, RedactConnection>(["redact", ""]);
