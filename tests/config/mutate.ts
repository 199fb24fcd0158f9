// The shipped envoy.yaml and a way to derive broken variants of it for the config tests.

import fs from "node:fs";

export const ENVOY_YAML_PATH = "envoy/envoy.yaml";
export const envoyYaml = fs.readFileSync(ENVOY_YAML_PATH, "utf8");

/** envoy.yaml with `from` replaced by `to`; throws if `from` is not there exactly once. */
export function mutate(from: string, to: string, text = envoyYaml): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`mutation anchor not found exactly once: ${from}`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** The 1-based line of the first occurrence of `needle` in `text`. */
export function lineOf(needle: string, text = envoyYaml): number {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`not in the text: ${needle}`);
  return text.slice(0, at).split("\n").length;
}
