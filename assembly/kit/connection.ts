// What every filter's connection class extends: the connection's context id and its two data
// streams. It holds no callback: a filter's class declares the callbacks it needs, and the
// dispatcher (filter.ts) calls them on that class itself, never through a base method.

import { BufferTypeValues, FilterStatusValues, LogLevelValues, StreamTypeValues } from "@solo-io/proxy-runtime/runtime";
import { logLevel } from "./log";
import * as line from "./logline";
import { LogLine } from "./logline";
import { StreamData } from "./stream";

// The prefix's words as UTF-8, copied as they are (logline.ts).
const CONNECTION_WORD = String.UTF8.encode("connection ");
const COLON_SPACE = String.UTF8.encode(": ");

/** What a filter's connection class extends: its context id, its two streams, its log lines. */
export class Connection {
  /** the connection's context id, as Envoy numbers it (docs/envoy-host.md §3) */
  readonly id: u32;
  // Made when first needed: a connection refused at once never has data. The dispatcher follows
  // only a side whose data callback the class declares (filter.ts): the other one's stays unmade.
  private downstreamData: StreamData | null = null;
  private upstreamData: StreamData | null = null;
  /** proxy_on_done has reached the filter: it is not sent twice */
  finished: bool = false;
  /** `connection <id>: ` as UTF-8, kept from the second line on and copied into the next ones */
  private linePrefix: ArrayBuffer | null = null;
  private linesBegun: u32 = 0;

  constructor(id: u32) {
    this.id = id;
  }

  // The streams are used through their fields in place: a local holding a reference, or a
  // getter's result, is one more count (docs/toolchain.md), on every data callback.

  /** bytes from the client, towards the upstream */
  get downstream(): StreamData {
    this.makeDownstream();
    return this.downstreamData!;
  }

  /** bytes from the upstream, towards the client */
  get upstream(): StreamData {
    this.makeUpstream();
    return this.upstreamData!;
  }

  // @ts-ignore: decorator
  @inline
  private makeDownstream(): void {
    if (this.downstreamData === null) this.downstreamData = new StreamData(BufferTypeValues.NetworkDownstreamData, StreamTypeValues.Downstream);
  }

  // @ts-ignore: decorator
  @inline
  private makeUpstream(): void {
    if (this.upstreamData === null) this.upstreamData = new StreamData(BufferTypeValues.NetworkUpstreamData, StreamTypeValues.Upstream);
  }

  /**
   * The dispatcher (filter.ts), as a data callback begins: the stream of that side, made on first
   * use, learns how many bytes are new.
   */
  enterData(fromDownstream: bool, size: usize, endOfStream: bool): void {
    if (fromDownstream) {
      this.makeDownstream();
      this.downstreamData!.enterCallback(size, endOfStream);
    } else {
      this.makeUpstream();
      this.upstreamData!.enterCallback(size, endOfStream);
    }
  }

  /** The dispatcher, as a data callback returns `status` (after enterData for the same side). */
  leaveData(fromDownstream: bool, status: FilterStatusValues): void {
    if (fromDownstream) this.downstreamData!.leaveCallback(status);
    else this.upstreamData!.leaveCallback(status);
  }

  /** Begins a log line of this connection: `connection <id>: ` (logline.ts). */
  beginLine(): void {
    line.begin();
    if (this.linePrefix !== null) {
      line.bytes(this.linePrefix!);
      return;
    }
    line.bytes(CONNECTION_WORD);
    line.decimal(this.id);
    line.bytes(COLON_SPACE);
    // A connection that logs one line does not pay for keeping it.
    if (this.linesBegun++ > 0) this.linePrefix = line.since(0);
  }

  /**
   * A log line of this connection at `level`, written in one statement:
   * `this.logLine(LogLevelValues.info).text("closed after ").decimal(size).text(" bytes").send()`.
   * When the host hides `level` nothing is built (logline.ts's LogLine).
   */
  logLine(level: LogLevelValues): LogLine {
    const shown = logLevel() <= level;
    if (shown) this.beginLine();
    return line.continueLine(level, shown);
  }

  /**
   * Logs `connection <id>: <message>` at `level` if the host shows that level. For rare lines: a
   * line a connection logs every time is better built piece by piece (beginLine), as the
   * message string costs an allocation per piece.
   */
  log(level: LogLevelValues, message: string): void {
    if (logLevel() > level) return;
    this.beginLine();
    line.text(message);
    line.send(level);
  }
}
