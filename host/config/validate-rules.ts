// The protoc-gen-validate rules ((validate.rules) on fields) that Envoy enforces when it loads a
// config, read generically from each field's options. Values arrive in their normalized JSON form
// (see proto-walk.ts): strings, numbers, enum names, Duration strings, arrays, objects.

import protobuf from "protobufjs";
import type { JsonValue } from "./model.ts";
import { parseDurationNanos } from "./duration.ts";
import { compileRe2, fullMatch, type Re2 } from "../re2.ts";

type Rules = Record<string, unknown>;

/** The field's (validate.rules), e.g. { string: { min_len: 1 } }, or undefined. */
export function fieldRules(field: protobuf.Field): Rules | undefined {
  for (const option of field.parsedOptions ?? []) {
    if ("(validate.rules)" in option) return option["(validate.rules)"] as Rules;
  }
  return undefined;
}

/** (validate.required) on a oneof. */
export function oneofRequired(oneof: protobuf.OneOf): boolean {
  return (oneof.parsedOptions ?? []).some((option) => option["(validate.required)"] === true);
}

/**
 * The violations of `rules` by a field's value. `value` is undefined when the field is absent;
 * for scalars the caller passes the proto3 default instead, since an absent scalar is its default.
 */
export function checkRules(rules: Rules, value: JsonValue | undefined, field: protobuf.Field): string[] {
  const problems: string[] = [];
  for (const [kind, kindRules] of Object.entries(rules)) {
    if (!isRules(kindRules)) continue;
    if (kindRules.ignore_empty === true && isEmpty(value)) continue;
    problems.push(...checkKind(kind, kindRules, value, field));
  }
  return problems;
}

function checkKind(kind: string, rules: Rules, value: JsonValue | undefined, field: protobuf.Field): string[] {
  switch (kind) {
    case "message":
    case "any":
    case "timestamp":
      return checkPresence(rules, value).concat(kind === "any" && value !== undefined ? checkAnyType(rules, value) : []);
    case "duration":
      return checkPresence(rules, value).concat(typeof value === "string" ? checkDuration(rules, value) : []);
    case "string":
    case "bytes":
      return typeof value === "string" ? checkString(rules, value) : [];
    case "repeated":
      return checkRepeated(rules, value ?? [], field);
    case "map":
      return checkMap(rules, value ?? {}, field);
    case "enum":
      return checkEnum(rules, value, field);
    case "bool":
      return rules.const !== undefined && value !== rules.const ? [`value must equal ${String(rules.const)}`] : [];
    default:
      return NUMERIC_KINDS.has(kind) ? checkNumber(rules, toNumber(value)) : [];
  }
}

const NUMERIC_KINDS = new Set([
  "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
  "fixed32", "fixed64", "sfixed32", "sfixed64",
]);

function checkPresence(rules: Rules, value: JsonValue | undefined): string[] {
  return rules.required === true && value === undefined ? ["value is required"] : [];
}

function checkAnyType(rules: Rules, value: JsonValue): string[] {
  const typeUrl = typeof value === "object" && value !== null && !Array.isArray(value) ? value["@type"] : undefined;
  if (typeof typeUrl !== "string") return [];
  if (Array.isArray(rules.in) && !rules.in.includes(typeUrl)) return [`type URL must be in list ${rules.in.join(", ")}`];
  if (Array.isArray(rules.not_in) && rules.not_in.includes(typeUrl)) return [`type URL must not be ${typeUrl}`];
  return [];
}

function checkString(rules: Rules, value: string): string[] {
  const problems: string[] = [];
  const chars = [...value].length;
  const bytes = Buffer.byteLength(value);
  const bound = (name: string, ok: (limit: number) => boolean, text: (limit: number) => string): void => {
    const limit = rules[name];
    if (typeof limit === "number" && !ok(limit)) problems.push(text(limit));
  };
  bound("len", (n) => chars === n, (n) => `value length must be ${n}`);
  bound("min_len", (n) => chars >= n, (n) => `value length must be at least ${n}`);
  bound("max_len", (n) => chars <= n, (n) => `value length must be at most ${n}`);
  bound("len_bytes", (n) => bytes === n, (n) => `value length must be ${n} bytes`);
  bound("min_bytes", (n) => bytes >= n, (n) => `value length must be at least ${n} bytes`);
  bound("max_bytes", (n) => bytes <= n, (n) => `value length must be at most ${n} bytes`);
  if (typeof rules.const === "string" && value !== rules.const) problems.push(`value must equal "${rules.const}"`);
  if (typeof rules.prefix === "string" && !value.startsWith(rules.prefix)) problems.push(`value must start with "${rules.prefix}"`);
  if (typeof rules.suffix === "string" && !value.endsWith(rules.suffix)) problems.push(`value must end with "${rules.suffix}"`);
  if (typeof rules.contains === "string" && !value.includes(rules.contains)) problems.push(`value must contain "${rules.contains}"`);
  if (Array.isArray(rules.in) && !rules.in.includes(value)) problems.push(`value must be one of ${rules.in.join(", ")}`);
  if (Array.isArray(rules.not_in) && rules.not_in.includes(value)) problems.push(`value must not be "${value}"`);
  if (typeof rules.pattern === "string" && !matchesPattern(rules.pattern, value)) {
    problems.push(`value does not match regex pattern "${rules.pattern}"`);
  }
  if (rules.well_known_regex !== undefined && /[\0\r\n]/.test(value)) {
    problems.push("value must not contain NUL, CR or LF");
  }
  return problems;
}

// The patterns are the API schema's, matched as protoc-gen-validate's C++ code matches them:
// RE2::FullMatch. RE2 keeps the time linear in the value, which is the user's. A pattern RE2JS
// cannot compile is skipped; each is compiled once.
const compiledPatterns = new Map<string, Re2 | null>();

function matchesPattern(pattern: string, value: string): boolean {
  let regex = compiledPatterns.get(pattern);
  if (regex === undefined) {
    const compiled = compileRe2(pattern);
    regex = "regex" in compiled ? compiled.regex : null;
    compiledPatterns.set(pattern, regex);
  }
  return regex === null || fullMatch(regex, value);
}

function checkNumber(rules: Rules, value: number | undefined): string[] {
  if (value === undefined) return [];
  const problems: string[] = [];
  const limit = (name: string): number | undefined => toNumber(rules[name] as JsonValue);
  const [lt, lte, gt, gte] = [limit("lt"), limit("lte"), limit("gt"), limit("gte")];
  if (lt !== undefined && !(value < lt)) problems.push(`value must be less than ${lt}`);
  if (lte !== undefined && !(value <= lte)) problems.push(`value must be less than or equal to ${lte}`);
  if (gt !== undefined && !(value > gt)) problems.push(`value must be greater than ${gt}`);
  if (gte !== undefined && !(value >= gte)) problems.push(`value must be greater than or equal to ${gte}`);
  if (rules.const !== undefined && value !== toNumber(rules.const as JsonValue)) problems.push(`value must equal ${String(rules.const)}`);
  if (Array.isArray(rules.in) && !rules.in.map(Number).includes(value)) problems.push(`value must be one of ${rules.in.join(", ")}`);
  if (Array.isArray(rules.not_in) && rules.not_in.map(Number).includes(value)) problems.push(`value must not be ${value}`);
  return problems;
}

function checkDuration(rules: Rules, value: string): string[] {
  const nanos = parseDurationNanos(value);
  if (nanos === undefined) return [];
  const problems: string[] = [];
  const limit = (name: string): bigint | undefined => {
    const bound = rules[name];
    if (!isRules(bound)) return undefined;
    return BigInt(Number(bound.seconds ?? 0)) * 1_000_000_000n + BigInt(Number(bound.nanos ?? 0));
  };
  const show = (n: bigint): string => `${Number(n) / 1e9}s`;
  const [lt, lte, gt, gte] = [limit("lt"), limit("lte"), limit("gt"), limit("gte")];
  if (lt !== undefined && !(nanos < lt)) problems.push(`value must be less than ${show(lt)}`);
  if (lte !== undefined && !(nanos <= lte)) problems.push(`value must be less than or equal to ${show(lte)}`);
  if (gt !== undefined && !(nanos > gt)) problems.push(`value must be greater than ${show(gt)}`);
  if (gte !== undefined && !(nanos >= gte)) problems.push(`value must be greater than or equal to ${show(gte)}`);
  return problems;
}

function checkRepeated(rules: Rules, value: JsonValue, field: protobuf.Field): string[] {
  if (!Array.isArray(value)) return [];
  const problems: string[] = [];
  if (typeof rules.min_items === "number" && value.length < rules.min_items) {
    problems.push(`value must contain at least ${rules.min_items} item(s)`);
  }
  if (typeof rules.max_items === "number" && value.length > rules.max_items) {
    problems.push(`value must contain no more than ${rules.max_items} item(s)`);
  }
  if (rules.unique === true && new Set(value.map((item) => JSON.stringify(item))).size !== value.length) {
    problems.push("repeated value must contain unique items");
  }
  if (isRules(rules.items)) {
    value.forEach((item, index) => {
      for (const problem of checkRules(rules.items as Rules, item, field)) problems.push(`[${index}]: ${problem}`);
    });
  }
  return problems;
}

function checkMap(rules: Rules, value: JsonValue, field: protobuf.Field): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  const entries = Object.entries(value);
  const problems: string[] = [];
  if (typeof rules.min_pairs === "number" && entries.length < rules.min_pairs) {
    problems.push(`value must contain at least ${rules.min_pairs} pair(s)`);
  }
  if (typeof rules.max_pairs === "number" && entries.length > rules.max_pairs) {
    problems.push(`value must contain no more than ${rules.max_pairs} pair(s)`);
  }
  for (const [key, item] of entries) {
    if (isRules(rules.keys)) for (const problem of checkRules(rules.keys, key, field)) problems.push(`key "${key}": ${problem}`);
    if (isRules(rules.values)) for (const problem of checkRules(rules.values, item, field)) problems.push(`["${key}"]: ${problem}`);
  }
  return problems;
}

function checkEnum(rules: Rules, value: JsonValue | undefined, field: protobuf.Field): string[] {
  const type = field.resolvedType;
  if (!(type instanceof protobuf.Enum) || value === undefined) return [];
  const number = typeof value === "number" ? value : type.values[String(value)];
  const problems: string[] = [];
  if (rules.defined_only === true && (number === undefined || type.valuesById[number] === undefined)) {
    problems.push("value must be one of the defined enum values");
  }
  if (rules.const !== undefined && number !== rules.const) problems.push(`value must equal ${type.valuesById[Number(rules.const)]}`);
  if (Array.isArray(rules.in) && !rules.in.includes(number)) problems.push(`value must be one of ${rules.in.map((n) => type.valuesById[n]).join(", ")}`);
  if (Array.isArray(rules.not_in) && rules.not_in.includes(number)) problems.push(`value must not be ${String(value)}`);
  return problems;
}

function toNumber(value: JsonValue | undefined): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value))) return Number(value);
  return undefined;
}

function isEmpty(value: JsonValue | undefined): boolean {
  if (value === undefined || value === "" || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && value !== null && Object.keys(value).length === 0;
}

function isRules(value: unknown): value is Rules {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
