// The release build/byte_quota.wasm: a connection is closed from the side that sent more than its
// quota; the chunk that crossed it is not passed on, every byte before it is.

import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { describe, it } from "node:test";
import { FilterStartError, startFilter, traceLine, type FilterUnderTest } from "../../host/testing/index.ts";
import { assertEnvoyModule } from "../../tests/helpers/envoy-module.ts";

const WASM_PATH = new URL("../../build/byte_quota.wasm", import.meta.url).pathname;
const QUOTAS = '{"max_downstream_bytes": 10, "max_upstream_bytes": 20}';

function start(configuration = QUOTAS): FilterUnderTest {
  return startFilter({ wasm: WASM_PATH, rootId: "byte_quota", configuration, trace: true });
}

/** The filter's log lines, the `configured:` ones left out. */
function connectionMessages(quota: FilterUnderTest): string[] {
  return quota.messages().filter((line) => !line.includes(" configured: "));
}

function counters(quota: FilterUnderTest): Array<bigint | undefined> {
  return [quota.metric("byte_quota_downstream_closed"), quota.metric("byte_quota_upstream_closed")];
}

/**
 * The host calls of the last call of `callback`, the log level queries and proxy_log left out, and
 * its return; an address in wasm memory shows as `…`.
 */
function lastCallTrace(quota: FilterUnderTest, callback: string): string[] {
  const lines = quota.trace.map((event) => traceLine(event).replace(/^\[\d+\] /, ""));
  const starts = lines.flatMap((line, i) => (line.startsWith(`→ ${callback}(`) ? [i] : []));
  const start = starts[starts.length - 1];
  assert.notEqual(start, undefined, `no call of ${callback}`);
  const end = lines.findIndex((line, i) => i > start && line.startsWith(`← ${callback}`));
  return lines
    .slice(start + 1, end + 1)
    .filter((line) => !/^ {2}proxy_(get_log_level|log)\(/.test(line))
    .map((line) => line.replace(/^( {2}proxy_set_buffer_bytes\(\d+, \d+, \d+, )\d+/, "$1…"));
}

describe("release build/byte_quota.wasm", () => {
  it("exports the ABI 0.2.1 marker alone, imports only what Envoy provides, and stays within 24 KiB", () => {
    assertEnvoyModule(WASM_PATH);
    assert.ok(statSync(WASM_PATH).size <= 24 * 1024);
  });

  it("logs its quotas, none by default", () => {
    for (const [configuration, described] of [["", "max_downstream_bytes=0 max_upstream_bytes=0"], [QUOTAS, "max_downstream_bytes=10 max_upstream_bytes=20"]]) {
      const quota = start(configuration);
      assert.deepEqual(quota.messages(), Array(3).fill(`info configured: ${described}`));
      quota.close();
    }
  });

  it("lets each side send exactly its quota", () => {
    const quota = start();
    const client = quota.connect();
    client.downstream("12345");
    client.upstream("abcdefghij");
    client.downstream("67890", true);
    client.upstream("klmnopqrst", true);
    assert.deepEqual(client.events, ['to upstream "12345"', 'to client "abcdefghij"', 'to upstream "67890" eos', 'to client "klmnopqrst" eos']);
    assert.deepEqual([client.closed, counters(quota)], [false, [0n, 0n]]);
    quota.close();
  });

  it("the client over its quota: closes from the downstream side, holds the chunk that crossed it, passes nothing more either way", () => {
    const quota = start();
    const client = quota.connect();
    assert.equal(client.downstream("12345678"), "Continue");
    assert.equal(client.downstream("901"), "StopIteration");
    assert.deepEqual(lastCallTrace(quota, "proxy_on_downstream_data"), [
      "  proxy_increment_metric(4, 1) → Ok  byte_quota_downstream_closed += 1",
      "  proxy_close_stream(2) → Ok  Downstream",
      "← proxy_on_downstream_data = 1  StopIteration",
    ]);
    // The chunk is still in Envoy's read buffer, and goes down with the connection.
    assert.deepEqual([client.closed, client.heldBytes.toString()], [true, "901"]);
    assert.equal(client.upstream("late reply"), undefined);
    assert.equal(client.downstream("more"), undefined);
    client.close("local");
    assert.deepEqual(client.events, ['to upstream "12345678"', "close downstream"]);
    assert.deepEqual(connectionMessages(quota), [`info connection ${client.contextId}: closed: the client sent 11 bytes, more than max_downstream_bytes 10`]);
    assert.deepEqual(counters(quota), [1n, 0n]);
    quota.close();
  });

  it("the upstream over its quota: closes from the upstream side, drops the chunk that crossed it, the client gets every byte before it", () => {
    const quota = start();
    const client = quota.connect();
    client.downstream("GET / HTTP/1.0\r\n\r\n".slice(0, 10));
    assert.equal(client.upstream("HTTP/1.0 200 OK\r\n"), "Continue");
    assert.equal(client.upstream("content-length: 13\r\n"), "Continue");
    assert.deepEqual(lastCallTrace(quota, "proxy_on_upstream_data"), [
      "  proxy_increment_metric(8, 1) → Ok  byte_quota_upstream_closed += 1",
      "  proxy_set_buffer_bytes(3, 0, 20, …, 0) → Ok  NetworkUpstreamData[0..20] replaced with 0 bytes",
      "  proxy_close_stream(3) → Ok  Upstream",
      "← proxy_on_upstream_data = 0  Continue",
    ]);
    assert.equal(client.closed, true);
    assert.equal(client.upstream("\r\nexample body\n", true), undefined);
    client.close("local");
    assert.deepEqual(client.events, ['to upstream "GET / HTTP"', 'to client "HTTP/1.0 200 OK\r\n"', "close downstream"]);
    assert.deepEqual(connectionMessages(quota), [`info connection ${client.contextId}: closed: the upstream sent 37 bytes, more than max_upstream_bytes 20`]);
    assert.deepEqual(counters(quota), [0n, 1n]);
    quota.close();
  });

  it("one byte at a time: closed on the byte after the quota, each side counted apart", () => {
    const quota = start('{"max_downstream_bytes": 3, "max_upstream_bytes": 3}');
    const client = quota.connect();
    const statuses = [..."abc"].flatMap((byte) => [client.downstream(byte), client.upstream(byte.toUpperCase())]);
    assert.deepEqual(statuses, Array(6).fill("Continue"));
    assert.equal(client.upstream("D"), "Continue");
    assert.deepEqual([client.closed, client.upstreamBytes.toString(), client.clientBytes.toString()], [true, "abc", "ABC"]);
    assert.deepEqual(counters(quota), [0n, 1n]);
    quota.close();
  });

  it("quotas are per connection; 0 is no limit", () => {
    const quota = start('{"max_downstream_bytes": 4, "max_upstream_bytes": 0}');
    const first = quota.connect();
    first.downstream("1234");
    first.upstream("x".repeat(100000));
    const second = quota.connect();
    second.downstream("1234");
    assert.deepEqual([first.closed, second.closed, first.bytesForwarded, counters(quota)], [false, false, { upstream: 4, client: 100000 }, [0n, 0n]]);
    quota.close();
  });

  it("below info logs nothing, and still closes and counts", () => {
    const quota = startFilter({ wasm: WASM_PATH, rootId: "byte_quota", configuration: QUOTAS, logLevel: "warn" });
    const client = quota.connect();
    client.downstream("x".repeat(11));
    assert.deepEqual([quota.messages(), client.closed, counters(quota)], [[], true, [1n, 0n]]);
    quota.close();
  });

  describe("refuses a bad configuration with one error line naming it", () => {
    const cases: Array<[string, string]> = [
      ['{"max_downstream_bytes": -1}', '"max_downstream_bytes" must be an integer from 0 (no limit) to 9223372036854775807'],
      ['{"max_upstream_bytes": "1k"}', '"max_upstream_bytes" must be an integer from 0 (no limit) to 9223372036854775807'],
      ['{"max_upstream_bytes": 9223372036854775808}', '"max_upstream_bytes" must be an integer from 0 (no limit) to 9223372036854775807'],
      ['{"max_bytes": 1}', 'unknown key "max_bytes"'],
      ['{"max_upstream_bytes": 1, "max_upstream_bytes": 2}', 'duplicate key "max_upstream_bytes"'],
      ["[]", "configuration must be a JSON object, got an array"],
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
