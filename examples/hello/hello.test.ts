// The release build/hello.wasm: the one-class form of a filter (the kit's NoConfiguration as its
// plugin) greets each client and passes every byte on unchanged; it takes no configuration but {}.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FilterStartError, startFilter } from "../../host/testing/index.ts";
import { assertEnvoyModule } from "../../tests/helpers/envoy-module.ts";

const WASM_PATH = new URL("../../build/hello.wasm", import.meta.url).pathname;

describe("release build/hello.wasm", () => {
  it("exports the ABI 0.2.1 marker alone, imports only what Envoy provides, and stays within 40 KiB", () => {
    assertEnvoyModule(WASM_PATH);
  });

  it("greets each client by its address, or as a stranger, and passes every byte on unchanged", () => {
    const hello = startFilter({ wasm: WASM_PATH, rootId: "hello" });
    const client = hello.connect({ source: { address: "192.0.2.10", port: 40000 } });
    assert.equal(client.newConnectionStatus, "Continue");
    client.downstream("ping");
    client.upstream("pong", true);
    client.close("remote");
    const stranger = hello.connect({ source: null });
    assert.deepEqual(hello.messages(), [
      ...Array(3).fill("info configured: no configuration"),
      `info connection ${client.contextId}: hello, 192.0.2.10:40000`,
      `info connection ${stranger.contextId}: hello, stranger`,
    ]);
    assert.deepEqual(client.events, ['to upstream "ping"', 'to client "pong" eos']);
    assert.deepEqual([client.closed, client.upstreamStarted], [false, true]);
    hello.close();
  });

  it("takes an empty configuration or {}, nothing else", () => {
    for (const configuration of ["", "{}", " { } "]) startFilter({ wasm: WASM_PATH, rootId: "hello", configuration }).close();
    const refusals: Array<[string, string]> = [
      ['{"greeting": "hi"}', 'unknown key "greeting"'],
      ["[]", "configuration must be a JSON object, got an array"],
      ["null", "configuration must be a JSON object, got null"],
      ["hi", "malformed JSON at byte 0"],
    ];
    for (const [configuration, reason] of refusals) {
      assert.throws(
        () => startFilter({ wasm: WASM_PATH, rootId: "hello", configuration }),
        (error) =>
          error instanceof FilterStartError &&
          error.messages.length === 1 &&
          error.messages[0] === `error invalid plugin configuration: this filter takes no configuration (leave it out, or {}): ${reason}`,
        configuration,
      );
    }
  });
});
