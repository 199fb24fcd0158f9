// first_line (build/first_line.wasm): a protocol sniffer. It holds each client's first bytes until
// its first line has arrived whole (an HTTP request line, a Redis or SMTP command), logs that line,
// then lets every byte through unchanged. A client whose first max_line_bytes bytes hold no end of
// line is closed.
//
// How holding works (docs/envoy-host.md §3): a filter that answers StopIteration leaves the bytes
// in the connection's read buffer, where tcp_proxy does not take them. The next read adds its
// bytes to that buffer and calls the filter again with all of them: `size` is then the held bytes
// plus the new ones, and `this.downstream.received` says how many are new. Continue hands the
// whole buffer, held bytes first, on to tcp_proxy.

import { Connection, FilterStatusValues, indexOfByte, line, logLevel, LogLevelValues, NetworkFilter, resultName, WasmResultValues } from "../../assembly/kit";
import { FirstLinePlugin } from "./settings";

export * from "../../assembly/kit/exports";

const LF: u8 = 0x0a;
const CR: u8 = 0x0d;

class FirstLineConnection extends Connection {
  private plugin: FirstLinePlugin;
  /** the first line is found, too long, or will never come: every later byte passes untouched */
  private decided: bool = false;

  constructor(id: u32, plugin: FirstLinePlugin) {
    super(id);
    this.plugin = plugin;
  }

  // proxy_on_downstream_data: `size` bytes are in the read buffer, `received` of them new.
  onDownstreamData(size: usize, endOfStream: bool): FilterStatusValues {
    if (this.decided) return FilterStatusValues.Continue;
    const stream = this.downstream;
    const maxLineBytes = <usize>this.plugin.settings.maxLineBytes;
    // The held bytes were searched in an earlier call and hold no LF: read only the new ones.
    const held = size - stream.received;
    const fresh = stream.read(held, stream.received).bytes;
    const lineFeedAt = indexOfByte(fresh, LF);
    if (lineFeedAt >= 0) {
      const lineEnd = held + <usize>lineFeedAt + 1; // the LF included
      if (lineEnd <= maxLineBytes) return this.foundLine(lineEnd);
      return this.closeTooLong();
    }
    if (size >= maxLineBytes) return this.closeTooLong();
    if (endOfStream) return this.endedWithoutLine(size);
    // Not yet: Envoy keeps the bytes and calls again with them and the next ones.
    return FilterStatusValues.StopIteration;
  }

  /** The first line is the buffer's first `lineEnd` bytes: log it, and let everything through. */
  private foundLine(lineEnd: usize): FilterStatusValues {
    this.decided = true;
    this.plugin.found.add(1);
    if (logLevel() <= LogLevelValues.info) {
      const bytes = this.downstream.read(0, lineEnd).bytes;
      let shown = lineEnd - 1; // without its LF...
      if (shown > 0 && load<u8>(changetype<usize>(bytes) + shown - 1) == CR) shown--; // ...and a CR before it
      this.beginLine();
      line.text("first line: ");
      line.escapedAt(changetype<usize>(bytes), shown); // escaped: a client's bytes are never logged raw
      line.send(LogLevelValues.info);
    }
    // Continue: Envoy passes the whole read buffer on, unchanged, the held bytes first.
    return FilterStatusValues.Continue;
  }

  /** max_line_bytes have come without an end of line: not the protocol expected. */
  private closeTooLong(): FilterStatusValues {
    this.decided = true;
    this.plugin.tooLong.add(1);
    if (logLevel() <= LogLevelValues.info) {
      this.beginLine();
      line.text("closed: no end of line in the first ");
      line.decimal(this.plugin.settings.maxLineBytes);
      line.text(" bytes (max_line_bytes)");
      line.send(LogLevelValues.info);
    }
    const result = this.downstream.close();
    if (result != WasmResultValues.Ok) this.log(LogLevelValues.error, "cannot close: " + resultName(result));
    // StopIteration: the held bytes never reach tcp_proxy; the close drops them with the connection.
    return FilterStatusValues.StopIteration;
  }

  /** The client ended (FIN) before its first line was whole: pass on what it sent, and its end. */
  private endedWithoutLine(size: usize): FilterStatusValues {
    this.decided = true;
    if (logLevel() <= LogLevelValues.info) {
      this.beginLine();
      line.text("no first line: the client ended after ");
      line.decimal(size);
      line.text(" bytes");
      line.send(LogLevelValues.info);
    }
    return FilterStatusValues.Continue;
  }
}

// Its root id, and "" for a configuration that leaves root_id out.
@global const networkFilter = new NetworkFilter<FirstLinePlugin, FirstLineConnection>(["first_line", ""]);
