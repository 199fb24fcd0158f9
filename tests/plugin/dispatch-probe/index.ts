// A filter built on the kit to check its dispatch in a release module (tests/plugin/dispatch.test.ts).
// Its connection class overrides every callback of a base class of its own, and is instantiated
// only inside the kit's dispatcher: the shape in which AssemblyScript 0.17 can skip overrides when
// a call goes through the base type (docs/toolchain.md). Each callback logs which class answered
// and returns what only the probe's class returns.

import { FilterStatusValues, LogLevelValues, PeerTypeValues } from "@solo-io/proxy-runtime/runtime";
import { Connection } from "../../../assembly/kit/connection";
import { NetworkFilter } from "../../../assembly/kit/filter";
import { log } from "../../../assembly/kit/log";

class ProbePlugin {
  configure(configuration: ArrayBuffer): string {
    return "";
  }

  describe(): string {
    return "probe";
  }
}

class ProbeBase extends Connection {
  onNewConnection(): FilterStatusValues {
    log(LogLevelValues.info, "ProbeBase.onNewConnection");
    return FilterStatusValues.Continue;
  }

  onDownstreamData(size: usize, endOfStream: bool): FilterStatusValues {
    log(LogLevelValues.info, "ProbeBase.onDownstreamData");
    return FilterStatusValues.Continue;
  }

  onUpstreamData(size: usize, endOfStream: bool): FilterStatusValues {
    log(LogLevelValues.info, "ProbeBase.onUpstreamData");
    return FilterStatusValues.Continue;
  }

  onDownstreamConnectionClose(peer: PeerTypeValues): void {
    log(LogLevelValues.info, "ProbeBase.onDownstreamConnectionClose");
  }

  onUpstreamConnectionClose(peer: PeerTypeValues): void {
    log(LogLevelValues.info, "ProbeBase.onUpstreamConnectionClose");
  }

  onDone(): void {
    log(LogLevelValues.info, "ProbeBase.onDone");
  }
}

class ProbeConnection extends ProbeBase {
  constructor(id: u32, plugin: ProbePlugin) {
    super(id);
  }

  onNewConnection(): FilterStatusValues {
    log(LogLevelValues.info, "ProbeConnection.onNewConnection");
    return FilterStatusValues.StopIteration;
  }

  onDownstreamData(size: usize, endOfStream: bool): FilterStatusValues {
    log(LogLevelValues.info, "ProbeConnection.onDownstreamData " + size.toString() + " received " + this.downstream.received.toString());
    return FilterStatusValues.StopIteration;
  }

  onUpstreamData(size: usize, endOfStream: bool): FilterStatusValues {
    log(LogLevelValues.info, "ProbeConnection.onUpstreamData " + size.toString());
    this.upstream.append(String.UTF8.encode("+"));
    return FilterStatusValues.Continue;
  }

  onDownstreamConnectionClose(peer: PeerTypeValues): void {
    log(LogLevelValues.info, "ProbeConnection.onDownstreamConnectionClose " + (<u32>peer).toString());
  }

  onUpstreamConnectionClose(peer: PeerTypeValues): void {
    log(LogLevelValues.info, "ProbeConnection.onUpstreamConnectionClose " + (<u32>peer).toString());
  }

  onDone(): void {
    log(LogLevelValues.info, "ProbeConnection.onDone");
  }
}

export * from "../../../assembly/kit/exports";

// @ts-ignore: decorator
@global const networkFilter = new NetworkFilter<ProbePlugin, ProbeConnection>(["probe"]);
