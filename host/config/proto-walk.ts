// Walks a parsed YAML document against protobuf message types the way Envoy's loader reads
// YAML as proto3 JSON: field names in snake_case or lowerCamelCase, enums by name (or number),
// well-known types in their JSON forms, Any bodies checked against the type their @type names.
// The result is the document normalized to proto field names, the line of every path in it,
// and the issues found. Aliases are resolved as any YAML parser resolves them (to the anchored
// node); a merge key `<<` is an ordinary key, as in Envoy's yaml-cpp, so it is an unknown field.

import protobuf from "protobufjs";
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type YAMLMap } from "yaml";
import type { JsonObject, JsonValue } from "./model.ts";
import { childPath, type ConfigIssue } from "./issues.ts";
import { parseDurationNanos } from "./duration.ts";
import { checkRules, fieldRules, oneofRequired } from "./validate-rules.ts";

export interface WalkResult {
  /** the document with proto field names, enums by name, Durations as strings; absent = not set */
  value: JsonObject;
  /** line of each path in `value` (and of each unknown key) */
  lines: Map<string, number>;
  issues: ConfigIssue[];
}

const WRAPPERS: Record<string, string> = {
  "google.protobuf.DoubleValue": "double",
  "google.protobuf.FloatValue": "float",
  "google.protobuf.Int64Value": "int64",
  "google.protobuf.UInt64Value": "uint64",
  "google.protobuf.Int32Value": "int32",
  "google.protobuf.UInt32Value": "uint32",
  "google.protobuf.BoolValue": "bool",
  "google.protobuf.StringValue": "string",
  "google.protobuf.BytesValue": "bytes",
};

/** Types whose JSON form is not an object of fields; inside an Any they sit under `value:`. */
const SPECIAL_JSON = new Set([
  ...Object.keys(WRAPPERS),
  "google.protobuf.Duration",
  "google.protobuf.Timestamp",
  "google.protobuf.FieldMask",
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
]);

const INT32_RANGE = { int32: [-(2 ** 31), 2 ** 31 - 1], sint32: [-(2 ** 31), 2 ** 31 - 1], sfixed32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1], fixed32: [0, 2 ** 32 - 1] } as Record<string, [number, number]>;
const INT64_TYPES = new Set(["int64", "sint64", "sfixed64", "uint64", "fixed64"]);

/**
 * Aliases resolved in one document at most: a few levels of aliases of aliases multiply into
 * billions of nodes (a "billion laughs" document); yaml's own toJS stops at 100 per anchor.
 */
const MAX_ALIAS_RESOLUTIONS = 10_000;

export function walkDocument(
  root: protobuf.Root,
  typeName: string,
  document: Document,
  lineCounter: LineCounter,
  file: string,
): WalkResult {
  const walker = new ProtoWalker(root, document, lineCounter, file);
  const value = walker.message(root.lookupType(typeName), walker.resolve(document.contents) ?? null, "", 1);
  return { value: value ?? {}, lines: walker.lines, issues: walker.issues };
}

class ProtoWalker {
  readonly lines = new Map<string, number>();
  readonly issues: ConfigIssue[] = [];
  private aliasesResolved = 0;

  constructor(
    private readonly root: protobuf.Root,
    private readonly document: Document,
    private readonly lineCounter: LineCounter,
    private readonly file: string,
  ) {}

  /**
   * A node of the tree with an alias replaced by the node its anchor names; undefined (reported
   * here, once) for an alias that cannot be resolved.
   */
  resolve(node: unknown): Node | null | undefined {
    if (!isAlias(node)) return (node ?? null) as Node | null;
    if (++this.aliasesResolved > MAX_ALIAS_RESOLUTIONS) {
      if (this.aliasesResolved === MAX_ALIAS_RESOLUTIONS + 1) {
        this.issue("", this.lineOf(node, 1), `more than ${MAX_ALIAS_RESOLUTIONS} aliases resolved: the document expands without bound`);
      }
      return undefined;
    }
    const anchored = node.resolve(this.document);
    if (anchored === undefined) this.issue("", this.lineOf(node, 1), `alias *${node.source} names no anchor defined before it`);
    return anchored;
  }

  /** A Struct, ListValue or Value node as JSON, its aliases resolved. */
  private json(node: Node, path: string, line: number): JsonValue | undefined {
    try {
      return node.toJS(this.document, { maxAliasCount: 100 }) as JsonValue;
    } catch (error) {
      this.issue(path, line, `${(error as Error).message.split("\n")[0]}`);
      return undefined;
    }
  }

  message(type: protobuf.Type, node: Node | null, path: string, line: number, skipKeys: string[] = []): JsonObject | undefined {
    if (!isMap(node)) {
      this.issue(path, line, `expected a ${type.name} message (a mapping)`);
      return undefined;
    }
    const result: JsonObject = {};
    // Fields given a value, valid or not: an invalid one is reported once, not again as missing.
    const given = new Set<string>();
    for (const pair of node.items) {
      const keyNode = this.resolve(pair.key);
      const key = isScalar(keyNode) ? String(keyNode.value) : "";
      const keyLine = this.lineOf(pair.key as Node | null, line);
      if (skipKeys.includes(key)) continue;
      const field = findField(type, key);
      if (!field) {
        this.issue(childPath(path, key), keyLine, `unknown field "${key}" in ${type.fullName.slice(1)}`);
        continue;
      }
      const fieldPath = childPath(path, field.name);
      if (field.name in result) {
        this.issue(fieldPath, keyLine, `field "${field.name}" is given twice (as snake_case and as camelCase)`);
        continue;
      }
      const valueNode = this.resolve(pair.value);
      if (valueNode === undefined) {
        given.add(field.name); // an alias already reported
        continue;
      }
      if (valueNode === null || (isScalar(valueNode) && valueNode.value === null)) continue; // JSON null: not set
      this.lines.set(fieldPath, keyLine);
      given.add(field.name);
      const value = this.fieldValue(field, valueNode, fieldPath, keyLine);
      if (value !== undefined) result[field.name] = value;
    }
    this.checkOneofs(type, given, path, line);
    this.checkFieldRules(type, result, given, path, line);
    return result;
  }

  private fieldValue(field: protobuf.Field, node: Node, path: string, line: number): JsonValue | undefined {
    if (field.map) return this.mapField(field, node, path, line);
    if (field.repeated) {
      if (!isSeq(node)) {
        this.issue(path, line, "expected a list");
        return undefined;
      }
      const items: JsonValue[] = [];
      node.items.forEach((item, index) => {
        const itemPath = childPath(path, index);
        const itemLine = this.lineOf(item as Node | null, line);
        this.lines.set(itemPath, itemLine);
        const itemNode = this.resolve(item);
        if (itemNode === undefined) return;
        const value = this.single(field, itemNode, itemPath, itemLine);
        if (value !== undefined) items.push(value);
      });
      return items;
    }
    return this.single(field, node, path, line);
  }

  private mapField(field: protobuf.Field, node: Node, path: string, line: number): JsonObject | undefined {
    if (!isMap(node)) {
      this.issue(path, line, "expected a mapping");
      return undefined;
    }
    const result: JsonObject = {};
    for (const pair of node.items) {
      const keyNode = this.resolve(pair.key);
      const key = isScalar(keyNode) ? String(keyNode.value) : "";
      const entryPath = childPath(path, key);
      const entryLine = this.lineOf(pair.key as Node | null, line);
      this.lines.set(entryPath, entryLine);
      const valueNode = this.resolve(pair.value);
      if (valueNode === undefined) continue;
      const value = this.single(field, valueNode, entryPath, entryLine);
      if (value !== undefined) result[key] = value;
    }
    return result;
  }

  /** One value of the field's type (an element, for repeated and map fields). */
  private single(field: protobuf.Field, node: Node | null, path: string, line: number): JsonValue | undefined {
    const type = field.resolvedType;
    if (type instanceof protobuf.Enum) return this.enumValue(type, node, path, line);
    if (type instanceof protobuf.Type) return this.typed(type, node, path, line);
    return this.scalar(field.type, node, path, line);
  }

  private typed(type: protobuf.Type, node: Node | null, path: string, line: number): JsonValue | undefined {
    const name = type.fullName.slice(1);
    const wrapped = WRAPPERS[name];
    if (wrapped) return this.scalar(wrapped, node, path, line);
    switch (name) {
      case "google.protobuf.Any":
        return this.any(node, path, line);
      case "google.protobuf.Duration":
        return this.duration(node, path, line);
      case "google.protobuf.Timestamp":
      case "google.protobuf.FieldMask":
        return this.scalar("string", node, path, line);
      case "google.protobuf.Struct":
        if (!isMap(node)) this.issue(path, line, "expected a mapping (google.protobuf.Struct)");
        return isMap(node) ? this.json(node, path, line) : undefined;
      case "google.protobuf.ListValue":
        if (!isSeq(node)) this.issue(path, line, "expected a list (google.protobuf.ListValue)");
        return isSeq(node) ? this.json(node, path, line) : undefined;
      case "google.protobuf.Value":
        return node === null ? null : this.json(node, path, line);
      default:
        return this.message(type, node, path, line);
    }
  }

  private any(node: Node | null, path: string, line: number): JsonObject | undefined {
    if (!isMap(node)) {
      this.issue(path, line, "expected a google.protobuf.Any (a mapping with @type)");
      return undefined;
    }
    const typeNode = node.get("@type", true) as Node | undefined;
    const resolvedType = this.resolve(typeNode);
    const typeUrl = isScalar(resolvedType) ? resolvedType.value : undefined;
    const typeLine = this.lineOf(typeNode ?? null, line);
    const typePath = childPath(path, "@type");
    if (typeof typeUrl !== "string" || typeUrl === "") {
      this.issue(typePath, line, "@type is required in a google.protobuf.Any");
      return undefined;
    }
    this.lines.set(typePath, typeLine);
    const typeName = typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
    const type = this.lookupType(typeName);
    if (!typeUrl.includes("/") || !type) {
      this.issue(typePath, typeLine, `unknown type "${typeUrl}": no such message in Envoy's API`);
      return undefined;
    }
    if (SPECIAL_JSON.has(typeName)) return this.specialAny(node, type, typeUrl, path, line);
    const body = this.message(type, node, path, line, ["@type"]);
    return body && { "@type": typeUrl, ...body };
  }

  /** An Any holding a type whose JSON form is not an object: `{"@type": ..., "value": <JSON>}`. */
  private specialAny(node: YAMLMap, type: protobuf.Type, typeUrl: string, path: string, line: number): JsonObject {
    for (const pair of node.items) {
      const keyNode = this.resolve(pair.key);
      const key = isScalar(keyNode) ? String(keyNode.value) : "";
      if (key !== "@type" && key !== "value") {
        this.issue(childPath(path, key), this.lineOf(pair.key as Node | null, line), `unknown field "${key}": an Any of ${type.name} holds only "value"`);
      }
    }
    const valuePath = childPath(path, "value");
    const valueNode = node.get("value", true) as Node | undefined;
    if (valueNode === undefined) return { "@type": typeUrl };
    const valueLine = this.lineOf(valueNode, line);
    this.lines.set(valuePath, valueLine);
    const resolvedValue = this.resolve(valueNode);
    if (resolvedValue === undefined) return { "@type": typeUrl };
    const value = this.typed(type, resolvedValue, valuePath, valueLine);
    return value === undefined ? { "@type": typeUrl } : { "@type": typeUrl, value };
  }

  private duration(node: Node | null, path: string, line: number): string | undefined {
    const text = isScalar(node) ? node.value : undefined;
    if (typeof text === "string" && parseDurationNanos(text) !== undefined) return text;
    this.issue(path, line, `invalid duration ${JSON.stringify(text ?? node?.toJSON())}: a google.protobuf.Duration is seconds ending in "s", e.g. "0.25s"`);
    return undefined;
  }

  private enumValue(type: protobuf.Enum, node: Node | null, path: string, line: number): JsonValue | undefined {
    const value = isScalar(node) ? node.value : undefined;
    if (typeof value === "string" && value in type.values) return value;
    if (typeof value === "number" && Number.isInteger(value)) return type.valuesById[value] ?? value;
    const names = Object.keys(type.values).join(", ");
    this.issue(path, line, `unknown value ${JSON.stringify(value ?? node?.toJSON())} for enum ${type.fullName.slice(1)}; expected one of ${names}`);
    return undefined;
  }

  private scalar(protoType: string, node: Node | null, path: string, line: number): JsonValue | undefined {
    const value = isScalar(node) ? node.value : undefined;
    const problem = scalarProblem(protoType, value);
    if (problem) {
      this.issue(path, line, `${problem}, got ${describe(node)}`);
      return undefined;
    }
    return typeof value === "string" && protoType !== "string" && protoType !== "bytes" && !isNaN(Number(value))
      ? Number(value)
      : (value as JsonValue);
  }

  private checkOneofs(type: protobuf.Type, given: Set<string>, path: string, line: number): void {
    for (const oneof of type.oneofsArray) {
      // proto3 `optional` fields are synthetic oneofs of one member; they never conflict.
      const present = oneof.fieldsArray.filter((field) => given.has(field.name));
      if (present.length > 1) {
        const second = childPath(path, present[1]!.name);
        const names = present.map((field) => `"${field.name}"`).join(" and ");
        this.issue(second, this.lines.get(second) ?? line, `only one of ${names} may be set (oneof ${oneof.name})`);
      }
      if (present.length === 0 && oneofRequired(oneof)) {
        const names = oneof.fieldsArray.map((field) => `"${field.name}"`).join(", ");
        this.issue(path, line, `one of ${names} is required (oneof ${oneof.name})`);
      }
    }
  }

  private checkFieldRules(type: protobuf.Type, result: JsonObject, given: Set<string>, path: string, line: number): void {
    for (const field of type.fieldsArray) {
      const rules = fieldRules(field);
      if (!rules) continue;
      const present = field.name in result;
      if (!present && given.has(field.name)) continue; // its value was already reported invalid
      // Rules of a oneof member (or a proto3 optional) apply only when it is set.
      if (!present && field.partOf) continue;
      const value = present ? result[field.name] : absentValue(field);
      const fieldPath = childPath(path, field.name);
      for (const problem of checkRules(rules, value, field)) {
        this.issue(fieldPath, this.lines.get(fieldPath) ?? line, problem);
      }
    }
  }

  private lookupType(name: string): protobuf.Type | undefined {
    try {
      const found = this.root.lookup(name);
      return found instanceof protobuf.Type ? found : undefined;
    } catch {
      return undefined;
    }
  }

  private lineOf(node: unknown, fallback: number): number {
    const range = (node as Node | null | undefined)?.range;
    return range ? this.lineCounter.linePos(range[0]).line : fallback;
  }

  private issue(path: string, line: number, message: string): void {
    this.issues.push({ file: this.file, line, path, message });
  }
}

/** Finds a field by its proto name or its JSON (lowerCamelCase) name, as Envoy's JSON parser does. */
function findField(type: protobuf.Type, key: string): protobuf.Field | undefined {
  return type.fields[key] ?? type.fieldsArray.find((field) => jsonName(field.name) === key);
}

function jsonName(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

/** The value an absent field has in proto3: scalars their default, lists and maps empty. */
function absentValue(field: protobuf.Field): JsonValue | undefined {
  if (field.map) return {};
  if (field.repeated) return [];
  if (field.resolvedType instanceof protobuf.Enum) return field.resolvedType.valuesById[0] ?? 0;
  if (field.resolvedType) return undefined;
  if (field.type === "string" || field.type === "bytes") return "";
  return field.type === "bool" ? false : 0;
}

function scalarProblem(protoType: string, value: unknown): string | undefined {
  switch (protoType) {
    case "string":
      return typeof value === "string" ? undefined : "expected a string";
    case "bytes":
      return typeof value === "string" && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value) ? undefined : "expected base64 bytes";
    case "bool":
      return typeof value === "boolean" ? undefined : "expected true or false";
    case "double":
    case "float":
      return typeof value === "number" || (typeof value === "string" && (/^(NaN|-?Infinity)$/.test(value) || isNumeric(value)))
        ? undefined
        : "expected a number";
  }
  const integer = typeof value === "number" ? value : typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(integer)) return `expected an integer (${protoType})`;
  const range = INT32_RANGE[protoType];
  if (range && (integer < range[0] || integer > range[1])) return `out of range for ${protoType}`;
  if (INT64_TYPES.has(protoType) && protoType.startsWith("u") && integer < 0) return `out of range for ${protoType}`;
  return undefined;
}

function isNumeric(text: string): boolean {
  return text.trim() !== "" && !Number.isNaN(Number(text));
}

function describe(node: Node | null): string {
  if (node === null) return "nothing";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  return JSON.stringify(isScalar(node) ? node.value : node.toJSON());
}
