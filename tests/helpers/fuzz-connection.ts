// Random TCP connections driven through a wasm plugin in Envoy's callback order
// (docs/envoy-host.md §3), many open at once, each checked as it goes: no trap, no error line, no
// unescaped character in a log line, the data and done lines the plugin owes.

import type { Logger } from "../../host/log.ts";
import { TestConnection, type ClusterInfo, type UpstreamHostInfo } from "../../host/testing/index.ts";
import type { WasmPlugin } from "../../host/wasm/api.ts";
import { escapeBytes, type PayloadSource } from "./fuzz-inputs.ts";
import type { Random } from "./fuzz-random.ts";

/** Keeps what the checks need of every log line, and never throws: it runs inside host calls. */
export class FuzzLogger implements Logger {
  /** messages logged since the driver last cleared it, without the `wasm log ...: ` prefix */
  recent: string[] = [];
  /** error and critical lines, whole */
  readonly errors: string[] = [];
  /** lines with a character outside printable ASCII: a raw control character or an unescaped byte */
  readonly unsafe: string[] = [];

  enabled(): boolean {
    return true;
  }

  log(component: string, level: string, _source: string, bytesOrText: string | Uint8Array): void {
    // a message that is not UTF-8 comes as its bytes: unsafe as a whole
    if (typeof bytesOrText !== "string") this.unsafe.push(`bytes: ${Buffer.from(bytesOrText).toString("hex")}`);
    const message = typeof bytesOrText === "string" ? bytesOrText : Buffer.from(bytesOrText).toString();
    const unsafeAt = message.search(/[^\x20-\x7e]/);
    if (unsafeAt >= 0) this.unsafe.push(`${JSON.stringify(message.slice(Math.max(0, unsafeAt - 80), unsafeAt + 40))} in ${JSON.stringify(message.slice(0, 80))}...`);
    if (level === "error" || level === "critical") this.errors.push(`[${level}][${component}] ${message}`);
    this.recent.push(message.slice(message.indexOf(": ") + 2));
  }
}

export interface Totals {
  completed: number;
  downstreamBytes: number;
  upstreamBytes: number;
  forwardedDownstream: number;
  forwardedUpstream: number;
}

/** What the connections of one plugin share. */
export interface Traffic {
  random: Random;
  plugin: WasmPlugin;
  logger: FuzzLogger;
  payloads: PayloadSource;
  clusters: ClusterInfo[];
  hosts: UpstreamHostInfo[];
  previewBytes: number;
  totals: Totals;
}

type Phase = "accepted" | "clusterSelected" | "connected";
type Peer = "local" | "remote";

const SOURCES = ["127.0.0.1", "10.0.0.7", "::1", "2001:db8::1"];

/** One connection whose next event is chosen at random among those Envoy can produce next. */
class ScriptedConnection {
  /** the events so far, for a failure report */
  private readonly script: string[] = [];
  /** the testing API's connection, counting what the filter passes on (its chunks are not kept) */
  private readonly connection: TestConnection;
  /** the plugin's `connection <id>: ` prefix */
  private prefix = "";
  private phase: Phase = "accepted";
  private downstreamEnded = false;
  private upstreamClosed = false;
  private downstreamBytes = 0;
  private upstreamBytes = 0;

  constructor(private readonly traffic: Traffic) {
    const { random } = traffic;
    const source = { address: random.pick(SOURCES), port: random.int(1, 65535) };
    this.connection = new TestConnection(traffic.plugin, { source, destination: { address: "127.0.0.1", port: 18000 }, listenerName: "main", record: false });
    this.call(`new connection from ${source.address} port ${source.port}`, () => this.connection.newConnection());
    const opened = traffic.logger.recent.map((line) => /^(connection \d+: )new connection from /.exec(line)).find((m) => m !== null);
    if (!opened) this.fail(`no line "connection <id>: new connection from ..."`);
    this.prefix = opened[1];
  }

  /** Plays the next event; false once the connection has closed. */
  step(): boolean {
    const random = this.traffic.random;
    const connection = this.connection;
    switch (this.phase) {
      case "accepted": {
        // tcp_proxy picks the cluster right after the filter's onNewConnection; with no such cluster it closes the connection.
        if (random.chance(0.03)) return this.close("local");
        const cluster = random.pick(this.traffic.clusters);
        this.script.push(`cluster ${cluster.name}`);
        connection.clusterSelected(cluster);
        this.phase = "clusterSelected";
        return true;
      }
      case "clusterSelected": {
        // Reads wait for the upstream connection: a failed connect closes the downstream, or the client gives up.
        if (random.chance(0.05)) return this.close(random.pick<Peer>(["local", "remote"]));
        const host = random.pick(this.traffic.hosts);
        this.script.push(`upstream host ${this.traffic.hosts.indexOf(host)}`);
        connection.upstreamConnected(host);
        this.phase = "connected";
        return true;
      }
      case "connected":
        return this.exchange();
    }
  }

  /**
   * Data both ways until a close. End of stream comes once per direction; an upstream FIN is
   * followed at once by the upstream close, and then only the downstream close can come (tcp_proxy
   * closes the client). The downstream close may come at any time: a reset, with or without ends of stream.
   */
  private exchange(): boolean {
    const { random, payloads, previewBytes } = this.traffic;
    const readsDownstream = !this.downstreamEnded && !this.upstreamClosed;
    const action = random.weighted({
      downstream: readsDownstream ? 4 : 0,
      downstreamEnd: readsDownstream ? 0.5 : 0,
      upstream: this.upstreamClosed ? 0 : 4,
      upstreamEnd: this.upstreamClosed ? 0 : 0.5,
      close: this.upstreamClosed ? 4 : 0.3,
    });
    switch (action) {
      case "downstream":
        this.downstream(payloads.chunk(random, previewBytes), random.chance(0.1));
        return true;
      case "downstreamEnd":
        this.downstream(new Uint8Array(0), true);
        return true;
      case "upstream":
        this.upstream(payloads.chunk(random, previewBytes), random.chance(0.1));
        return true;
      case "upstreamEnd":
        this.upstream(new Uint8Array(0), true);
        return true;
      case "close":
        return this.close(this.upstreamClosed && random.chance(0.8) ? "local" : random.pick<Peer>(["local", "remote"]));
    }
  }

  private downstream(data: Uint8Array, endOfStream: boolean): void {
    this.downstreamEnded = endOfStream;
    this.downstreamBytes += data.length;
    this.traffic.totals.downstreamBytes += data.length;
    this.call(`downstream data ${describe(data)}${endOfStream ? " eos" : ""}`, () => this.connection.downstream(data, endOfStream));
    if (data.length > 0) this.expectLine(this.dataLine("downstream", data));
  }

  private upstream(data: Uint8Array, endOfStream: boolean): void {
    this.upstreamBytes += data.length;
    this.traffic.totals.upstreamBytes += data.length;
    this.call(`upstream data ${describe(data)}${endOfStream ? " eos" : ""}`, () => this.connection.upstream(data, endOfStream));
    if (data.length > 0) this.expectLine(this.dataLine("upstream", data));
    if (!endOfStream) return;
    this.upstreamClosed = true;
    this.call("upstream close", () => this.connection.upstreamClose());
  }

  private close(peer: Peer): false {
    this.call(`downstream close ${peer}`, () => this.connection.close(peer));
    const done = new RegExp(`^${this.prefix}done: ${this.downstreamBytes} bytes from downstream, ${this.upstreamBytes} bytes from upstream, \\d+ ms$`);
    if (!this.traffic.logger.recent.some((line) => done.test(line))) {
      this.fail(`no line "${this.prefix}done: ${this.downstreamBytes} bytes from downstream, ${this.upstreamBytes} bytes from upstream, <ms> ms"`);
    }
    const { totals } = this.traffic;
    totals.completed++;
    totals.forwardedDownstream += this.connection.bytesForwarded.upstream;
    totals.forwardedUpstream += this.connection.bytesForwarded.client;
    return false;
  }

  /** The preview line of a chunk: the first previewBytes bytes escaped, and what was left out. */
  private dataLine(direction: string, data: Uint8Array): string {
    const budget = this.traffic.previewBytes;
    let line = `${direction} data: ${data.length} bytes`;
    if (budget === 0) return line;
    line += ": " + escapeBytes(data.subarray(0, budget));
    return data.length > budget ? `${line} ... (+${data.length - budget} bytes)` : line;
  }

  private expectLine(message: string): void {
    if (!this.traffic.logger.recent.includes(this.prefix + message)) this.fail(`no line "${this.prefix}${message.slice(0, 300)}"`);
  }

  /** Runs one callback; any error line, unsafe line or close by the filter fails the run at once. */
  private call(event: string, callback: () => void): void {
    const logger = this.traffic.logger;
    this.script.push(event);
    logger.recent = [];
    callback();
    if (logger.errors.length > 0) this.fail(`error line: ${logger.errors[0]}`);
    if (logger.unsafe.length > 0) this.fail(`line with a raw control character or unescaped byte: ${logger.unsafe[0]}`);
    if (this.connection.closed) this.fail("the filter closed the downstream connection");
  }

  private fail(problem: string): never {
    const shown = this.script.length > 40 ? [...this.script.slice(0, 20), "...", ...this.script.slice(-19)] : this.script;
    throw new Error(`${problem}\nafter the connection events:\n  ${shown.join("\n  ")}`);
  }
}

/** `<n> bytes <first bytes as hex>`: enough to rebuild a failing chunk's start by hand. */
function describe(data: Uint8Array): string {
  return `${data.length} bytes ${Buffer.from(data.subarray(0, 16)).toString("hex")}${data.length > 16 ? "..." : ""}`;
}

/**
 * Plays `connections` connections, keeping up to `maxOpen` of them open at once and advancing a
 * random one at each turn, until all have closed.
 */
export function runTraffic(traffic: Traffic, connections: number, maxOpen: number): void {
  const { random } = traffic;
  const open: ScriptedConnection[] = [];
  let started = 0;
  while (started < connections || open.length > 0) {
    const mayOpen = started < connections && open.length < maxOpen;
    if (mayOpen && (open.length === 0 || random.chance(0.3))) {
      open.push(new ScriptedConnection(traffic));
      started++;
      continue;
    }
    const index = random.int(0, open.length - 1);
    if (!open[index].step()) {
      open[index] = open[open.length - 1];
      open.pop();
    }
  }
}
