// The documentation against the project: every output block marked for scripts/docs-check.ts
// (or visibly not checked), every relative link and anchor resolved, docs/kit-api.md as
// `make docs` writes it, and the blocks marked make-test run again. make docs-check runs the
// rest (the tutorial, make bench, make test: minutes).

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { checkPages, difference, linkProblems, markerProblems, normalized, pages, parseMarker, ROOT } from "../../scripts/docs-check.ts";
import { KIT_API_MD, renderKitReference } from "../../scripts/kit-reference.ts";

const UNMARKED = "an output block without a <!-- docs-check";

describe("the docs", () => {
  it("mark every output block of README.md, docs/ and bench/README.md as checked, or say why not", () => {
    const own = pages().filter((page) => !page.startsWith("examples/"));
    assert.deepEqual(markerProblems(own), []);
  });

  it("have no malformed marker in examples/*/README.md (unmarked blocks there are make docs-check's to report)", (t) => {
    const problems = markerProblems(pages().filter((page) => page.startsWith("examples/")));
    const unmarked = problems.filter((problem) => problem.includes(UNMARKED));
    if (unmarked.length > 0) t.diagnostic(`not yet checked by make docs-check:\n${unmarked.join("\n")}`);
    assert.deepEqual(problems.filter((problem) => !problem.includes(UNMARKED)), []);
  });

  it("link only to files and headings that exist", () => {
    assert.deepEqual(linkProblems(pages()), []);
  });

  it("have docs/kit-api.md as make docs writes it from assembly/kit/", () => {
    assert.ok(readFileSync(KIT_API_MD, "utf8") === renderKitReference(), "docs/kit-api.md is stale: run make docs");
  });

  it("show what the blocks marked make-test print when run again (the README's quick start)", async () => {
    assert.deepEqual(await checkPages(pages(), { quick: true }), []);
  });
});

describe("docs-check's comparison", () => {
  it("ignores timestamps, dates, ports and durations, and nothing else", () => {
    assert.equal(
      normalized("[2026-12-06 20:26:49.408][2][info][wasm] connection 2: new connection from 127.0.0.1:44702, 81 ms", false),
      "[<time>][2][info][wasm] connection 2: new connection from 127.0.0.1:<port>, <duration>",
    );
    assert.equal(normalized("date: Sun, 06 Dec 2026 20:26:49 GMT", false), "date: <date>");
    assert.equal(normalized("-rw-r--r-- 1 root root 17989 Nov 30 00:37 build/no_ssh.wasm", false), "-rw-r--r-- 1 root root 17989 <date> build/no_ssh.wasm");
    assert.equal(normalized("PROXY TCP4 127.0.0.1 127.0.0.1 40284 18000\\r\\n", false), "PROXY TCP4 127.0.0.1 127.0.0.1 <port> <port>\\r\\n");
    assert.equal(difference(["connection_counter{} 2"], ["connection_counter{} 3"], false),
      "line 1 of its output:\n    page: connection_counter{} 2\n    run:  connection_counter{} 3");
    assert.equal(difference(["a", "b"], ["a"], false), "line 2 of its output:\n    page: b\n    run:  (nothing more)");
  });

  it("compares benchmark figures by shape: numbers and the spaces that align them may change", () => {
    assert.equal(difference(["logger, log info      11.66       10.48"], ["logger, log info       9.02        8.50"], true), undefined);
    assert.equal(difference(["logger, log info: / same calls   1.10   <= 1.3  PASS"], ["logger, log info: / same calls   1.39   <= 1.3  MISS"], true), undefined);
    assert.notEqual(difference(["logger, log info 11.66"], ["logger, log warning 11.66"], true), undefined);
  });

  it("reads a marker's words and before: lines, and refuses what it does not know by name", () => {
    assert.deepEqual(parseMarker(" host config=envoy/envoy.yaml wasm-log-level=debug\nbefore: curl -s localhost:18000\n"), {
      mode: "host", config: "envoy/envoy.yaml", wasmLogLevel: "debug", slow: false, shape: false, makeTest: false, before: ["curl -s localhost:18000"],
    });
    assert.throws(() => parseMarker(" runn"), { message: 'unknown word "runn" (run, host, file=, config=, tutorial=, wasm-log-level=, slow, shape, make-test)' });
    assert.throws(() => parseMarker(" host"), { message: "a host block needs config=FILE" });
  });

  it("reports a page whose block no longer shows what the command prints, and an unmarked one", async () => {
    const folder = mkdtempSync(join(tmpdir(), "docs-check-test-"));
    try {
      const page = relative(ROOT, join(folder, "page.md"));
      writeFileSync(join(folder, "page.md"), [
        "<!-- docs-check: run make-test -->", "```", "$ echo one two", "one three", "```", "",
        "```", "$ echo unmarked", "unmarked", "```", "",
        "*Not checked by make docs-check: an example of the visible note.*", "```", "$ false", "```", "",
      ].join("\n"));
      assert.deepEqual(markerProblems([page]), [`${page}:7: an output block without a <!-- docs-check: ... --> marker or a "*Not checked by make docs-check: <reason>.*" line before it`]);
      assert.deepEqual(await checkPages([page], { quick: true }), [
        `${page}:2: $ echo one two\n  line 1 of its output:\n    page: one three\n    run:  one two\n  the block as it ran:\n    $ echo one two\n    one two`,
      ]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
