// The kit's dispatch in a release module (build/dispatch-probe.wasm, from tests/plugin/dispatch-probe/):
// every callback reaches the filter's own class, never a base class's method of the same name,
// although that class is instantiated only inside the kit, the shape in which AssemblyScript 0.17
// can skip overrides (docs/toolchain.md). A build that dispatched through the base class would log
// `ProbeBase.*` lines and return Continue where the probe returns StopIteration.

import assert from "node:assert/strict";
import { it } from "node:test";
import { TestConnection } from "../../host/testing/index.ts";
import { bytes, leave, startTestPlugin, traced } from "../helpers/wat-filters.ts";

const WASM_PATH = new URL("../../build/dispatch-probe.wasm", import.meta.url).pathname;

it("calls each callback on the filter's class, with its status, in a release build", () => {
  const probe = startTestPlugin(null, { wasmPath: WASM_PATH, plugin: { name: "probe", rootId: "probe" } });
  const connection = new TestConnection(probe.plugin);
  connection.newConnection();
  connection.downstream(bytes("hello"), false);
  // StopIteration held "hello": Envoy reports it again with the new byte (docs/envoy-host.md §3).
  connection.downstream(bytes("!"), false);
  // the upstream's end of stream comes with its last bytes, and with it the upstream's close
  connection.upstream(bytes("reply"), true);
  connection.close("remote");

  const messages = probe.lines.map((line) => line.slice(line.indexOf(": ") + 2)).filter((m) => m.startsWith("Probe"));
  assert.deepEqual(messages, [
    "ProbeConnection.onNewConnection",
    "ProbeConnection.onDownstreamData 5 received 5",
    "ProbeConnection.onDownstreamData 6 received 1",
    "ProbeConnection.onUpstreamData 5",
    "ProbeConnection.onUpstreamConnectionClose 0",
    "ProbeConnection.onDownstreamConnectionClose 2",
    "ProbeConnection.onDone",
  ]);
  const returns = traced(probe.trace).filter(
    (event) => event.kind === "leave" && /^proxy_on_(new_connection|downstream_data|upstream_data)$/.test(event.name),
  );
  assert.deepEqual(returns, [
    leave("proxy_on_new_connection", 1, { status: "StopIteration" }),
    leave("proxy_on_downstream_data", 1, { status: "StopIteration" }),
    leave("proxy_on_downstream_data", 1, { status: "StopIteration" }),
    leave("proxy_on_upstream_data", 0, { status: "Continue" }),
  ]);
  // The upstream edit went through the kit's append.
  assert.deepEqual(connection.events, ['to client "reply+" eos']);
  probe.plugin.close();
});
