// The release build/first_line.wasm: it holds a client's bytes until its first line is whole,
// logs the line, then passes every byte on unchanged; it closes a client whose first line is
// longer than max_line_bytes.

import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { describe, it } from "node:test";
import { FilterStartError, startFilter, type FilterUnderTest } from "../../host/testing/index.ts";
import { assertEnvoyModule } from "../../tests/helpers/envoy-module.ts";

const WASM_PATH = new URL("../../build/first_line.wasm", import.meta.url).pathname;

function start(configuration = ""): FilterUnderTest {
  return startFilter({ wasm: WASM_PATH, rootId: "first_line", configuration });
}

/** The filter's log lines, the `configured:` ones left out. */
function connectionMessages(sniffer: FilterUnderTest): string[] {
  return sniffer.messages().filter((line) => !line.includes(" configured: "));
}

function counters(sniffer: FilterUnderTest): [bigint | undefined, bigint | undefined] {
  return [sniffer.metric("first_line_found"), sniffer.metric("first_line_too_long")];
}

describe("release build/first_line.wasm", () => {
  it("exports the ABI 0.2.1 marker alone, imports only what Envoy provides, and stays within 24 KiB", () => {
    assertEnvoyModule(WASM_PATH);
    assert.ok(statSync(WASM_PATH).size <= 24 * 1024);
  });

  it("logs its setting, 1024 by default", () => {
    const sniffer = start();
    assert.deepEqual(sniffer.messages(), Array(3).fill("info configured: max_line_bytes=1024"));
    sniffer.close();
    const configured = start('{"max_line_bytes": 16}');
    assert.deepEqual(configured.messages(), Array(3).fill("info configured: max_line_bytes=16"));
    configured.close();
  });

  it("passes a first line that comes whole in one chunk at once, and logs it without its CRLF", () => {
    const sniffer = start();
    const client = sniffer.connect();
    assert.equal(client.downstream("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "Continue");
    assert.deepEqual(client.events, ['to upstream "GET / HTTP/1.1\r\nHost: x\r\n\r\n"']);
    assert.deepEqual(connectionMessages(sniffer), [`info connection ${client.contextId}: first line: GET / HTTP/1.1`]);
    assert.deepEqual(counters(sniffer), [1n, 0n]);
    sniffer.close();
  });

  it("holds the bytes (StopIteration) until the end of line arrives, then passes them all, in order, unchanged", () => {
    const sniffer = start();
    const client = sniffer.connect();
    assert.equal(client.downstream("*1\r"), "StopIteration");
    assert.equal(client.downstream("\n$4"), "Continue");
    assert.equal(client.downstream("\r\nPING\r\n"), "Continue");
    // The held bytes went on with the chunk that completed the line, in one piece.
    assert.deepEqual(client.events, ['to upstream "*1\r\n$4"', 'to upstream "\r\nPING\r\n"']);
    assert.deepEqual(connectionMessages(sniffer), [`info connection ${client.contextId}: first line: *1`]);
    sniffer.close();
  });

  it("one byte at a time: held until the LF, every byte in the held buffer; a bare LF ends a line too", () => {
    const sniffer = start();
    const client = sniffer.connect();
    const statuses = [..."EHLO x\n"].map((byte) => client.downstream(byte));
    assert.deepEqual(statuses, [...Array(6).fill("StopIteration"), "Continue"]);
    assert.deepEqual(client.events, ['to upstream "EHLO x\n"']);
    assert.equal(client.holdingDownstream, false);
    assert.deepEqual(connectionMessages(sniffer), [`info connection ${client.contextId}: first line: EHLO x`]);
    assert.equal(client.downstream("MAIL FROM:<a@b>\r\n"), "Continue");
    assert.deepEqual(counters(sniffer), [1n, 0n]);
    sniffer.close();
  });

  it("shows what is held while it waits", () => {
    const sniffer = start();
    const client = sniffer.connect();
    client.downstream("GET /a");
    client.downstream("bc HT");
    assert.deepEqual([client.holdingDownstream, client.heldBytes.toString(), client.events], [true, "GET /abc HT", []]);
    sniffer.close();
  });

  it("logs a line's bytes escaped, never raw", () => {
    const sniffer = start();
    const client = sniffer.connect();
    client.downstream(Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0xff, 0x0a]));
    assert.deepEqual(connectionMessages(sniffer), [`info connection ${client.contextId}: first line: \\x1b[2J\\xff`]);
    assert.deepEqual(client.upstreamBytes, Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0xff, 0x0a]));
    sniffer.close();
  });

  it("takes a first line of exactly max_line_bytes, its LF included", () => {
    const sniffer = start('{"max_line_bytes": 8}');
    const client = sniffer.connect();
    assert.equal(client.downstream("1234"), "StopIteration");
    assert.equal(client.downstream("567\nrest"), "Continue");
    assert.deepEqual(client.events, ['to upstream "1234567\nrest"']);
    assert.deepEqual(counters(sniffer), [1n, 0n]);
    sniffer.close();
  });

  it("closes a client once max_line_bytes have come without an LF, and passes none of its bytes", () => {
    const sniffer = start('{"max_line_bytes": 8}');
    const client = sniffer.connect();
    assert.equal(client.downstream("1234"), "StopIteration");
    assert.equal(client.downstream("5678"), "StopIteration");
    assert.deepEqual([client.closed, client.events], [true, ["close downstream"]]);
    // The closed connection's chain passes nothing more, the filter included.
    assert.equal(client.downstream("\n"), undefined);
    assert.deepEqual(connectionMessages(sniffer), [`info connection ${client.contextId}: closed: no end of line in the first 8 bytes (max_line_bytes)`]);
    assert.deepEqual(counters(sniffer), [0n, 1n]);
    sniffer.close();
  });

  it("closes a client whose LF comes after max_line_bytes within one chunk", () => {
    const sniffer = start('{"max_line_bytes": 8}');
    const client = sniffer.connect();
    assert.equal(client.downstream("12345678\n"), "StopIteration");
    assert.deepEqual([client.closed, client.bytesForwarded.upstream], [true, 0]);
    assert.deepEqual(counters(sniffer), [0n, 1n]);
    sniffer.close();
  });

  it("at the client's end of stream while holding: passes the held bytes and the end on, and logs it", () => {
    const sniffer = start();
    const early = sniffer.connect();
    assert.equal(early.downstream("PIN"), "StopIteration");
    assert.equal(early.downstreamEnd(), "Continue");
    assert.deepEqual(early.events, ['to upstream "PIN" eos']);
    const silent = sniffer.connect();
    assert.equal(silent.downstreamEnd(), "Continue");
    assert.deepEqual(silent.events, ['to upstream "" eos']);
    assert.deepEqual(connectionMessages(sniffer), [
      `info connection ${early.contextId}: no first line: the client ended after 3 bytes`,
      `info connection ${silent.contextId}: no first line: the client ended after 0 bytes`,
    ]);
    assert.deepEqual(counters(sniffer), [0n, 0n]);
    sniffer.close();
  });

  it("leaves the upstream's bytes alone, a server that speaks first included", () => {
    const sniffer = start();
    const client = sniffer.connect();
    assert.equal(client.upstream("220 smtp.example ready\r\n"), "Continue");
    client.downstream("HELO");
    assert.deepEqual(client.events, ['to client "220 smtp.example ready\r\n"']);
    sniffer.close();
  });

  it("below info logs nothing, and still counts and closes", () => {
    const sniffer = startFilter({ wasm: WASM_PATH, rootId: "first_line", configuration: '{"max_line_bytes": 2}', logLevel: "warn" });
    const client = sniffer.connect();
    client.downstream("abc");
    assert.deepEqual([sniffer.messages(), client.closed, counters(sniffer)], [[], true, [0n, 1n]]);
    sniffer.close();
  });

  describe("refuses a bad configuration with one error line naming it", () => {
    const cases: Array<[string, string]> = [
      ['{"max_line_bytes": 0}', '"max_line_bytes" must be an integer from 1 to 65536'],
      ['{"max_line_bytes": 65537}', '"max_line_bytes" must be an integer from 1 to 65536'],
      ['{"max_line_bytes": -1}', '"max_line_bytes" must be an integer from 1 to 65536'],
      ['{"max_line_bytes": "64"}', '"max_line_bytes" must be an integer from 1 to 65536'],
      ['{"max_line_bytes": 1.5}', '"max_line_bytes" must be an integer from 1 to 65536'],
      ['{"max_line_bytes": [64]}', "malformed JSON at byte 19"],
      ['{"max_bytes": 64}', 'unknown key "max_bytes"'],
      ['{"max_line_bytes": 64, "max_line_bytes": 65}', 'duplicate key "max_line_bytes"'],
      ["64", "configuration must be a JSON object, got a number"],
    ];
    for (const [configuration, error] of cases) {
      it(configuration, () => {
        assert.throws(
          () => start(configuration),
          (thrown) => thrown instanceof FilterStartError && thrown.messages.length === 1 && thrown.messages[0] === `error invalid plugin configuration: ${error}`,
        );
      });
    }
  });
});
