// The release build/redact.wasm: every `find` in the client's bytes becomes `replace_with` before
// tcp_proxy sends them upstream, a match split over chunks included; the upstream's bytes pass
// untouched.

import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { describe, it } from "node:test";
import { FilterStartError, startFilter, type FilterUnderTest, type TestConnection } from "../../host/testing/index.ts";
import { assertEnvoyModule } from "../../tests/helpers/envoy-module.ts";

const WASM_PATH = new URL("../../build/redact.wasm", import.meta.url).pathname;
const HUNTER = '{"find": "hunter2", "replace_with": "*******"}';

function start(configuration: string): FilterUnderTest {
  return startFilter({ wasm: WASM_PATH, rootId: "redact", configuration });
}

/** The client sends `chunks` one by one, then its end of stream; what the filter answered to each. */
function sendAll(client: TestConnection, chunks: string[]): Array<string | undefined> {
  const statuses = chunks.map((chunk) => client.downstream(chunk));
  statuses.push(client.downstreamEnd());
  return statuses;
}

/** The filter's log lines, the `configured:` ones left out. */
function connectionMessages(redact: FilterUnderTest): string[] {
  return redact.messages().filter((line) => !line.includes(" configured: "));
}

/** A generator of the same pseudo-random numbers on every run (a 32-bit xorshift). */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

describe("release build/redact.wasm", () => {
  it("exports the ABI 0.2.1 marker alone, imports only what Envoy provides, and stays within 24 KiB", () => {
    assertEnvoyModule(WASM_PATH);
    assert.ok(statSync(WASM_PATH).size <= 24 * 1024);
  });

  it("logs its configuration without the secret", () => {
    const redact = start(HUNTER);
    assert.deepEqual(redact.messages(), Array(3).fill('info configured: find=<7 bytes> replace_with="*******"'));
    redact.close();
    const byDefault = start('{"find": "hunter2"}');
    assert.deepEqual(byDefault.messages(), Array(3).fill('info configured: find=<7 bytes> replace_with="[redacted]"'));
    byDefault.close();
  });

  it("replaces each match within a chunk, passes a chunk without one as it is, and counts", () => {
    const redact = start(HUNTER);
    const client = redact.connect();
    assert.equal(client.downstream("user=ann password=hunter2 again=hunter2\n"), "Continue");
    assert.equal(client.downstream("nothing here\n"), "Continue");
    client.downstreamEnd();
    client.close("remote");
    assert.deepEqual(client.events, ['to upstream "user=ann password=******* again=*******\n"', 'to upstream "nothing here\n"', 'to upstream "" eos']);
    assert.deepEqual(connectionMessages(redact), [`info connection ${client.contextId}: redacted 2 times`]);
    assert.equal(redact.metric("redact_replacements"), 2n);
    redact.close();
  });

  it("a match split over two chunks: holds the tail that could begin it, and rewrites it whole", () => {
    const redact = start(HUNTER);
    const client = redact.connect();
    assert.equal(client.downstream("password=hun"), "Continue");
    // "hun" is kept back by the filter, not by Envoy: the read buffer is empty.
    assert.deepEqual([client.events, client.holdingDownstream], [['to upstream "password="'], false]);
    assert.equal(client.downstream("ter2;"), "Continue");
    assert.deepEqual(client.events, ['to upstream "password="', 'to upstream "*******;"']);
    assert.equal(redact.metric("redact_replacements"), 1n);
    redact.close();
  });

  it("one byte at a time: a chunk that may all begin a match passes nothing (StopIteration on an empty buffer)", () => {
    const redact = start(HUNTER);
    const client = redact.connect();
    const statuses = sendAll(client, [..."ahunter2b"]);
    assert.deepEqual(statuses, ["Continue", ...Array(6).fill("StopIteration"), "Continue", "Continue", "Continue"]);
    assert.deepEqual(client.events, ['to upstream "a"', 'to upstream "*******"', 'to upstream "b"', 'to upstream "" eos']);
    redact.close();
  });

  it("a near miss is let go as soon as it stops matching, and a match can start inside it", () => {
    const redact = start('{"find": "aab", "replace_with": "X"}');
    const client = redact.connect();
    sendAll(client, ["a", "a", "a", "b", "a"]);
    assert.equal(client.upstreamBytes.toString(), "aXa");
    assert.deepEqual(client.events, ['to upstream "a"', 'to upstream "X"', 'to upstream "a" eos']);
    redact.close();
  });

  it("at debug, logs each rewritten chunk as it goes on, escaped and cut at 256 bytes", () => {
    const redact = startFilter({ wasm: WASM_PATH, rootId: "redact", configuration: HUNTER, logLevel: "debug" });
    const client = redact.connect();
    client.downstream("pw=hunter2\r\n");
    client.downstream(`${"x".repeat(300)}hunter2hunter2`);
    assert.deepEqual(connectionMessages(redact), [
      `debug connection ${client.contextId}: rewrote 1 match: "pw=*******\\r\\n"`,
      `debug connection ${client.contextId}: rewrote 2 matches: "${"x".repeat(256)}" ... (+58 bytes)`,
    ]);
    redact.close();
  });

  it("at the end of stream the held tail goes out as it is, with the end", () => {
    const redact = start(HUNTER);
    const client = redact.connect();
    assert.deepEqual(sendAll(client, ["ok hunt"]), ["Continue", "Continue"]);
    assert.deepEqual(client.events, ['to upstream "ok "', 'to upstream "hunt" eos']);
    assert.equal(redact.metric("redact_replacements"), 0n);
    redact.close();
  });

  it("says so when a client leaves without its end of stream while bytes are held back", () => {
    const redact = start(HUNTER);
    const client = redact.connect();
    client.downstream("x hunter2 hunt");
    client.close("remote");
    assert.deepEqual(client.events, ['to upstream "x ******* "']);
    assert.deepEqual(connectionMessages(redact), [
      `info connection ${client.contextId}: redacted 1 time; 4 bytes held back were never sent: the client left without ending its stream`,
    ]);
    redact.close();
  });

  it("replacements of another length: longer, shorter, empty", () => {
    for (const [replaceWith, expected] of [["<secret removed>", "a=<secret removed>&b=<secret removed>"], ["*", "a=*&b=*"], ["", "a=&b="]]) {
      const redact = start(JSON.stringify({ find: "hunter2", replace_with: replaceWith }));
      const client = redact.connect();
      sendAll(client, ["a=hunt", "er2&b=h", "unter2"]);
      assert.equal(client.upstreamBytes.toString(), expected, replaceWith);
      redact.close();
    }
  });

  it("matches bytes, not text: a secret with non-ASCII UTF-8, split inside a character", () => {
    const redact = start('{"find": "clé", "replace_with": "k"}');
    const client = redact.connect();
    const bytes = Buffer.from("la clé!");
    client.downstream(bytes.subarray(0, 6)); // "la cl" and the first byte of é
    client.downstream(bytes.subarray(6));
    assert.equal(client.upstreamBytes.toString(), "la k!");
    redact.close();
  });

  it("gives what replaceAll gives, for any cutting of the stream into chunks", () => {
    const random = seeded(20261206);
    const redact = start('{"find": "abab", "replace_with": "<>"}');
    for (let round = 0; round < 200; round++) {
      const text = Array.from({ length: 1 + Math.floor(random() * 40) }, () => "abx"[Math.floor(random() * 3)]).join("");
      const chunks: string[] = [];
      for (let at = 0; at < text.length;) {
        const length = 1 + Math.floor(random() * 6);
        chunks.push(text.slice(at, at + length));
        at += length;
      }
      const client = redact.connect();
      sendAll(client, chunks);
      client.close("remote");
      assert.equal(client.upstreamBytes.toString(), text.replaceAll("abab", "<>"), JSON.stringify(chunks));
    }
    redact.close();
  });

  it("leaves the upstream's bytes alone", () => {
    const redact = start(HUNTER);
    const client = redact.connect();
    assert.equal(client.upstream("your password is hunter2"), "Continue");
    assert.deepEqual(client.events, ['to client "your password is hunter2"']);
    redact.close();
  });

  describe("refuses a bad configuration with one error line naming it", () => {
    const cases: Array<[string, string]> = [
      ["", '"find" is required'],
      ["{}", '"find" is required'],
      ['{"replace_with": "x"}', '"find" is required'],
      ['{"find": ""}', '"find" must be a string of 1 to 1024 bytes'],
      ['{"find": 7}', '"find" must be a string of 1 to 1024 bytes'],
      [`{"find": "${"x".repeat(1025)}"}`, '"find" must be a string of 1 to 1024 bytes'],
      ['{"find": "a", "replace_with": null}', '"replace_with" must be a string of 0 to 1024 bytes'],
      ['{"find": "a", "replace": "b"}', 'unknown key "replace"'],
      ['{"find": "a", "find": "b"}', 'duplicate key "find"'],
      ['{"find": ["a"]}', "malformed JSON at byte 9"],
    ];
    for (const [configuration, error] of cases) {
      it(configuration.slice(0, 60) || "(empty)", () => {
        assert.throws(
          () => start(configuration),
          (thrown) => thrown instanceof FilterStartError && thrown.messages.length === 1 && thrown.messages[0] === `error invalid plugin configuration: ${error}`,
        );
      });
    }
  });
});
