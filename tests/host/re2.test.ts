// docs/envoy-host.md §14: regular expressions from outside the host's code are RE2's: its syntax,
// its error texts (what RE2::error() returns, which admin puts after "Invalid re2 regex: "), its
// partial and full match, in linear time.
import assert from "node:assert/strict";
import { test } from "node:test";
import protobuf from "protobufjs";
import { checkRules } from "../../host/config/validate-rules.ts";
import { compileRe2, fullMatch, partialMatch, type Re2 } from "../../host/re2.ts";

function compiled(pattern: string): Re2 {
  const result = compileRe2(pattern);
  assert.ok("regex" in result, `${pattern}: ${"error" in result ? result.error : ""}`);
  return result.regex;
}

test("RE2's error text for each kind of refused pattern", () => {
  // as RE2 words them (re2/regexp.cc kErrorStrings, re2/parse.cc; release 2024-07-02)
  const cases: Array<[string, string]> = [
    ["(a)\\1", "invalid escape sequence: \\1"],
    ["\\Z", "invalid escape sequence: \\Z"],
    ["(?=c)x", "invalid perl operator: (?="],
    ["(?!c)x", "invalid perl operator: (?!"],
    ["(?<=c)x", "invalid perl operator: (?<="],
    ["(?<!c)x", "invalid perl operator: (?<!"],
    ["(?z)a", "invalid perl operator: (?z"],
    ["(?P=n)", "invalid perl operator: (?P"],
    ["(?P<n!>a)", "invalid named capture group: (?P<n!>"],
    ["(?P<name", "invalid named capture group: (?P<name"],
    ["a{1001}", "invalid repetition size: {1001}"],
    ["x{2,1}", "invalid repetition size: {2,1}"],
    ["[z-a]", "invalid character class range: z-a"],
    ["[[:foo:]]", "invalid character class range: [:foo:]"],
    ["\\p{Foo}", "invalid character class range: \\p{Foo}"],
    ["[a", "missing ]: [a"],
    ["a(b", "missing ): a(b"],
    ["a)b", "unexpected ): a)b"],
    ["a**", "bad repetition operator: **"],
    ["a{2}{3}", "bad repetition operator: {2}{3}"],
    ["*a", "no argument for repetition operator: *"],
    ["a\\", "trailing \\"],
  ];
  assert.deepEqual(
    cases.map(([pattern]) => [pattern, compileRe2(pattern)]),
    cases.map(([pattern, error]) => [pattern, { error }]),
  );
});

test("RE2's syntax that JavaScript lacks is accepted", () => {
  assert.equal(partialMatch(compiled("\\Qa.b\\E"), "xa.by"), true);
  assert.equal(partialMatch(compiled("\\Qa.b\\E"), "axb"), false);
  assert.equal(partialMatch(compiled("(?P<n>ab)"), "cab"), true);
  assert.equal(partialMatch(compiled("(?i)AB"), "cab"), true);
  assert.equal(partialMatch(compiled("[[:digit:]]x"), "a1x"), true);
});

test("partial match finds the pattern anywhere; full match needs the whole text", () => {
  const regex = compiled("cx_t");
  assert.equal(partialMatch(regex, "cluster.web_service.upstream_cx_total"), true);
  assert.equal(fullMatch(regex, "cluster.web_service.upstream_cx_total"), false);
  assert.equal(fullMatch(regex, "cx_t"), true);
});

test("nested repetition that cannot match is answered (a backtracking engine would not finish)", () => {
  const name = "cluster.web_service.upstream_cx_total".repeat(100);
  assert.equal(partialMatch(compiled("^([a-z_.0-9]+)+!$"), name), false);
  assert.equal(fullMatch(compiled("([a-z_.0-9]+)+!"), name), false);
});

test("a schema pattern must match the whole value, as protoc-gen-validate's RE2::FullMatch", () => {
  const field = new protobuf.Field("name", 1, "string");
  assert.deepEqual(checkRules({ string: { pattern: "b" } }, "abc", field), ['value does not match regex pattern "b"']);
  assert.deepEqual(checkRules({ string: { pattern: "a.c" } }, "abc", field), []);
  assert.deepEqual(checkRules({ string: { pattern: "\\Qa.c\\E" } }, "abc", field), ['value does not match regex pattern "\\Qa.c\\E"']);
});
