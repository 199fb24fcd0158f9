// The release build/response_stamp.wasm: a line of its own after the upstream's first line,
// wherever that line ends; every byte the upstream sends counted; the client's bytes untouched.

import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { describe, it } from "node:test";
import { FilterStartError, startFilter, type FilterUnderTest } from "../../host/testing/index.ts";
import { assertEnvoyModule } from "../../tests/helpers/envoy-module.ts";

const WASM_PATH = new URL("../../build/response_stamp.wasm", import.meta.url).pathname;
const RESPONSE = "HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nexample body\n";
const STAMPED = "HTTP/1.1 200 OK\r\nx-stamped-by: response_stamp\r\ncontent-length: 13\r\n\r\nexample body\n";

function start(configuration = ""): FilterUnderTest {
  return startFilter({ wasm: WASM_PATH, rootId: "response_stamp", configuration });
}

/** The filter's log lines, the `configured:` ones left out. */
function connectionMessages(stamp: FilterUnderTest): string[] {
  return stamp.messages().filter((line) => !line.includes(" configured: "));
}

function counters(stamp: FilterUnderTest): Array<bigint | undefined> {
  return [stamp.metric("response_stamp_stamped"), stamp.metric("response_stamp_upstream_bytes")];
}

describe("release build/response_stamp.wasm", () => {
  it("exports the ABI 0.2.1 marker alone, imports only what Envoy provides, and stays within 24 KiB", () => {
    assertEnvoyModule(WASM_PATH);
    assert.ok(statSync(WASM_PATH).size <= 24 * 1024);
  });

  it("logs its stamp", () => {
    const stamp = start('{"stamp": "x-via: wasm"}');
    assert.deepEqual(stamp.messages(), Array(3).fill('info configured: stamp="x-via: wasm"'));
    stamp.close();
  });

  it("inserts the stamp line after the first line of a response that comes in one chunk; the client's bytes pass untouched", () => {
    const stamp = start();
    const client = stamp.connect();
    assert.equal(client.downstream("GET / HTTP/1.1\r\n\r\n"), "Continue");
    assert.equal(client.upstream(RESPONSE), "Continue");
    client.upstreamEnd();
    client.close("remote");
    assert.deepEqual(client.events, ['to upstream "GET / HTTP/1.1\r\n\r\n"', `to client "${STAMPED}"`, 'to client "" eos']);
    assert.deepEqual(connectionMessages(stamp), [
      `info connection ${client.contextId}: stamped after the upstream's first line (17 bytes)`,
      `info connection ${client.contextId}: the upstream sent ${RESPONSE.length} bytes`,
    ]);
    // The stamp is not counted: the upstream's own bytes are.
    assert.deepEqual(counters(stamp), [1n, BigInt(RESPONSE.length)]);
    stamp.close();
  });

  it("the first line cut anywhere, one byte at a time included: the chunks before its LF pass as they are, the stamp follows the LF", () => {
    for (const cut of [1, 5, 16, 17, 18]) {
      const stamp = start();
      const client = stamp.connect();
      client.upstream(RESPONSE.slice(0, cut));
      client.upstream(RESPONSE.slice(cut));
      assert.equal(client.clientBytes.toString(), STAMPED, `cut at ${cut}`);
      stamp.close();
    }
    const stamp = start();
    const client = stamp.connect();
    for (const byte of RESPONSE) client.upstream(byte);
    assert.equal(client.clientBytes.toString(), STAMPED);
    assert.deepEqual(client.events.slice(15, 18), ['to client "\r"', 'to client "\nx-stamped-by: response_stamp\r\n"', 'to client "c"']);
    assert.deepEqual(counters(stamp), [1n, BigInt(RESPONSE.length)]);
    stamp.close();
  });

  it("stamps the first line of the connection only, and any protocol's: a server that speaks first, LF alone", () => {
    const stamp = start('{"stamp": "250-STAMPED"}');
    const client = stamp.connect();
    client.upstream("220 mail.example\n");
    client.downstream("EHLO x\n");
    client.upstream("250 ok\n");
    assert.equal(client.clientBytes.toString(), "220 mail.example\n250-STAMPED\r\n250 ok\n");
    assert.deepEqual(counters(stamp), [1n, 24n]);
    stamp.close();
  });

  it("an upstream that ends without an end of line: nothing stamped, and said so", () => {
    const stamp = start();
    const client = stamp.connect();
    client.upstream("no line", true);
    client.close("remote");
    assert.deepEqual(client.events, ['to client "no line" eos']);
    assert.deepEqual(connectionMessages(stamp), [`info connection ${client.contextId}: the upstream sent 7 bytes, no end of line: not stamped`]);
    assert.deepEqual(counters(stamp), [0n, 7n]);
    stamp.close();
  });

  describe("refuses a bad configuration with one error line naming it", () => {
    const oneLine = '"stamp" must be one line of 1 to 1024 bytes, without CR or LF';
    const cases: Array<[string, string]> = [
      ['{"stamp": ""}', oneLine],
      ['{"stamp": "a\\r\\nb: c"}', oneLine],
      ['{"stamp": "a\\nb"}', oneLine],
      ['{"stamp": 1}', oneLine],
      [`{"stamp": "${"é".repeat(513)}"}`, oneLine],
      ['{"stamps": "x"}', 'unknown key "stamps"'],
      ['{"stamp": "x",}', "malformed JSON at byte 14"],
    ];
    for (const [configuration, error] of cases) {
      it(configuration.slice(0, 60), () => {
        assert.throws(
          () => start(configuration),
          (thrown) => thrown instanceof FilterStartError && thrown.messages.length === 1 && thrown.messages[0] === `error invalid plugin configuration: ${error}`,
        );
      });
    }
  });
});
