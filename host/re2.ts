// Regular expressions that come from outside the host's own code (an admin query, the Envoy API
// schema's patterns), matched as Envoy matches them: with RE2 semantics, in time linear in the
// input, whatever the pattern. JavaScript's RegExp backtracks: `^([a-z_.0-9]+)+!$` against a long
// stat name would hold the host's one thread for ever. RE2JS (the npm package `re2js`, a pure
// JavaScript port of RE2) has RE2's syntax and refuses what RE2 refuses: back-references,
// lookarounds. See docs/envoy-host.md §14.

import { RE2JS, RE2JSSyntaxException } from "re2js";

export type Re2 = RE2JS;

export type Re2Compiled = { regex: Re2 } | { error: string };

/**
 * RE2JS words its syntax errors as Go's regexp/syntax does, RE2 in its own words (re2/regexp.cc,
 * kErrorStrings, release 2024-07-02, which Envoy 1.39 pins): RE2JS's text → RE2's. The part after
 * the colon is the same in both.
 */
const NAMED_CAPTURE = "invalid named capture";
const TOO_LARGE = "expression too large";
const RE2_ERROR_TEXT: Record<string, string> = {
  "invalid escape sequence": "invalid escape sequence",
  "invalid character class range": "invalid character class range",
  [NAMED_CAPTURE]: "invalid named capture group",
  "invalid or unsupported Perl syntax": "invalid perl operator",
  "invalid nested repetition operator": "bad repetition operator",
  "invalid repeat count": "invalid repetition size",
  "missing closing ]": "missing ]",
  "missing closing )": "missing )",
  "missing argument to repetition operator": "no argument for repetition operator",
  "trailing backslash at end of expression": "trailing \\",
  "unexpected )": "unexpected )",
  [TOO_LARGE]: "pattern too large - compile failed",
};

/** RE2 reports `(?<=` and `(?<!` as a perl operator (re2/parse.cc); RE2JS as a named capture. */
const LOOKBEHINDS = ["(?<=", "(?<!"];

/** The pattern compiled, or RE2's error text for it (what `RE2::error()` returns). */
export function compileRe2(pattern: string): Re2Compiled {
  try {
    return { regex: RE2JS.compile(pattern) };
  } catch (error) {
    if (error instanceof RE2JSSyntaxException) return { error: re2ErrorText(error.error, error.input) };
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function re2ErrorText(code: string, input: string | null): string {
  if (code === NAMED_CAPTURE && input !== null && startsLookbehind(input)) {
    return `invalid perl operator: ${input.slice(0, 4)}`;
  }
  const text = RE2_ERROR_TEXT[code] ?? code;
  if (code === TOO_LARGE || input === null || input === "") return text;
  return `${text}: ${input}`;
}

/** `(?<=` or `(?<!` with more after it: RE2 checks for these before named captures. */
function startsLookbehind(input: string): boolean {
  return input.length > 4 && LOOKBEHINDS.some((start) => input.startsWith(start));
}

/** RE2::PartialMatch: a match anywhere in `text`. */
export function partialMatch(regex: Re2, text: string): boolean {
  return regex.test(text);
}

/** RE2::FullMatch: `text` matched as a whole. */
export function fullMatch(regex: Re2, text: string): boolean {
  return regex.testExact(text);
}
