// Hostile inputs for the plugin fuzz test: payload chunks, odd cluster and host metadata, and
// plugin configurations (valid ones with the settings they mean, invalid ones with the error
// the plugin must log), all drawn from a seeded Random.

import type { JsonObject, JsonValue } from "../../host/config/model.ts";
import type { ClusterInfo, UpstreamHostInfo } from "../../host/wasm/api.ts";
import type { Random } from "./fuzz-random.ts";

const encoder = new TextEncoder();

/**
 * The plugin's escaping of bytes for a log line (docs/logger.md, "Payload previews"): printable ASCII as
 * is, `\` doubled, CR/LF/TAB as `\r` `\n` `\t`, every other byte as `\xNN`.
 */
export function escapeBytes(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) {
    if (byte === 0x5c) out += "\\\\";
    else if (byte === 0x0d) out += "\\r";
    else if (byte === 0x0a) out += "\\n";
    else if (byte === 0x09) out += "\\t";
    else if (byte >= 0x20 && byte <= 0x7e) out += String.fromCharCode(byte);
    else out += "\\x" + byte.toString(16).padStart(2, "0");
  }
  return out;
}

export function escapeText(text: string): string {
  return escapeBytes(encoder.encode(text));
}

// ---------------------------------------------------------------- payloads

/** Byte sequences that break naive logging: terminal escapes, line breaks, NUL, invalid UTF-8. */
const HOSTILE_PIECES = [
  "\x1b[2J", "\x1b]0;owned\x07", "\x1b[31m", "\r\n", "\n", "\r", "\0", "\x7f", "\t", "\\", "\x08",
  "\x9b", "\xc2\x9b", "\xff\xfe", "\xed\xa0\x80", "\xc0\xaf", "\xe2\x80\xae", "\xf0\x9f\x98\x80", "\xf4\x90\x80\x80",
  "GET / HTTP/1.1\r\nHost: localhost:18000\r\n\r\n", "HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nexample body\n",
  "%s%n%x", "connection 2: done", "hello", " ",
].map((piece) => Buffer.from(piece, "latin1"));

const MIB = 1024 * 1024;

/**
 * Chunks are views into one pool of hostile pieces and random binary runs, so that even a
 * 2 MiB chunk costs nothing to make: only the plugin's preview of it is ever copied.
 */
export class PayloadSource {
  private readonly pool = new Uint8Array(2 * MIB + 64 * 1024);

  constructor(random: Random) {
    for (let at = 0; at < this.pool.length; ) {
      if (random.chance(0.5)) {
        const piece = random.pick(HOSTILE_PIECES).subarray(0, this.pool.length - at);
        this.pool.set(piece, at);
        at += piece.length;
      } else {
        const end = Math.min(this.pool.length, at + random.int(1, 64));
        for (; at < end; at++) this.pool[at] = random.int(0, 255);
      }
    }
  }

  /** A chunk of 1 byte to 2 MiB; sizes around the preview budget are favoured. */
  chunk(random: Random, previewBytes: number): Uint8Array {
    const size = sizeOf(random, previewBytes);
    const start = random.int(0, this.pool.length - size);
    return this.pool.subarray(start, start + size);
  }
}

function sizeOf(random: Random, previewBytes: number): number {
  switch (random.weighted({ tiny: 60, small: 22, budget: 10, large: 6, huge: 2 })) {
    case "tiny":
      return random.int(1, 64);
    case "small":
      return random.int(65, 4096);
    case "budget":
      return Math.max(1, previewBytes + random.int(-1, 1));
    case "large":
      return random.int(4097, 256 * 1024);
    case "huge":
      return random.int(MIB, 2 * MIB);
  }
}

// ---------------------------------------------------------------- metadata

/** Strings as odd as YAML metadata can hold: empty, long, unicode, control characters, a lone surrogate. */
function oddString(random: Random): string {
  switch (random.weighted({ empty: 1, word: 6, long: 1, unicode: 2, control: 2, pairsLike: 1, loneSurrogate: 1 })) {
    case "empty":
      return "";
    case "word":
      return random.pick(["aws", "ap-northeast-1a", "region", "a", "key.with.dots", "x y", "0"]);
    case "long":
      return "v".repeat(random.int(100, 4096));
    case "unicode":
      return random.pick(["地域", "😀", "\u202eevil", "é", "\ufeffbom", "\uffff"]);
    case "control":
      return random.pick(["\x1b[2J", "line\nbreak", "\r", "nul\0byte", "\x7f", "\u009b", "tab\t"]);
    case "pairsLike":
      // A string value whose bytes happen to look like the pairs encoding of a map.
      return "\x01\0\0\0\x01\0\0\0\x01\0\0\0k\0v\0";
    case "loneSurrogate":
      return "\ud800";
  }
}

function metadataValue(random: Random, depth: number): JsonValue {
  const kind = random.weighted({ string: 10, number: 3, bool: 1, list: 2, map: depth < 6 ? 2 : 0 });
  switch (kind) {
    case "string":
      return oddString(random);
    case "number":
      return random.pick([0, -0, 1, -1, 0.5, 1e308, 2 ** 53 + 1, NaN, Infinity]);
    case "bool":
      return random.chance(0.5);
    case "list":
      return Array.from({ length: random.int(0, 6) }, () => metadataValue(random, depth + 1));
    case "map":
      return metadataMap(random, random.int(0, 6), depth + 1);
  }
}

function metadataMap(random: Random, keys: number, depth: number): JsonObject {
  // fromEntries, so that a key like `__proto__` would be an own key rather than a prototype.
  return Object.fromEntries(Array.from({ length: keys }, () => [oddString(random), metadataValue(random, depth)]));
}

/**
 * Bytes where the plugin expects the pairs encoding of a map: truncated, lengths past the end,
 * no NULs, trailing bytes. Envoy always sends a Struct here; a string value is the local host's
 * only way to hand the plugin malformed pairs, so the fuzz test uses it.
 */
function malformedPairs(random: Random): string {
  const count = (n: number) => String.fromCharCode(n & 0x7f, (n >> 7) & 0x7f, 0, 0);
  switch (random.weighted({ empty: 1, short: 1, hugeCount: 1, pastEnd: 1, noNul: 1, trailing: 1, garbage: 1 })) {
    case "empty":
      return "";
    case "short":
      return "\x01\0";
    case "hugeCount":
      return "\x7f\x7f\x7f\x7f";
    case "pastEnd":
      return count(1) + count(200) + count(1) + "k\0v\0";
    case "noNul":
      return count(1) + count(1) + count(1) + "kxvx";
    case "trailing":
      return count(1) + count(1) + count(1) + "k\0v\0extra";
    case "garbage":
      return Array.from({ length: random.int(1, 64) }, () => String.fromCharCode(random.int(0, 0x7f))).join("");
  }
}

/**
 * Protobuf parses with a default nesting limit of 100 messages, and each Struct level is two
 * (Struct, Value): metadata from Envoy is at most about 50 maps deep (not checked in Envoy's loader).
 */
const MAX_STRUCT_DEPTH = 50;

function nested(depth: number, leaf: string): JsonObject {
  let map: JsonObject = { leaf };
  for (let i = 1; i < depth; i++) map = { [`level${depth - i}`]: map };
  return map;
}

/** `{ filter_metadata: { <namespace>: ... } }` in one of the shapes a cluster or host may have. */
function metadata(random: Random, namespace: string): JsonObject {
  switch (random.weighted({ none: 2, noFilterMetadata: 1, otherNamespace: 1, map: 6, manyKeys: 1, emptyMap: 1, withNull: 1, deep: 1, malformed: 2 })) {
    case "none":
      return {};
    case "noFilterMetadata":
      return { filter_metadata: {} };
    case "otherNamespace":
      return { filter_metadata: { [namespace + ".other"]: metadataMap(random, 2, 1) } };
    case "map":
      return { filter_metadata: { [namespace]: metadataMap(random, random.int(1, 12), 1) } };
    case "manyKeys":
      return { filter_metadata: { [namespace]: metadataMap(random, random.int(100, 400), 4) } };
    case "emptyMap":
      return { filter_metadata: { [namespace]: {} } };
    case "withNull":
      // A null anywhere in the namespace makes the whole read a SerializationFailure (docs/envoy-host.md §5).
      return { filter_metadata: { [namespace]: { ...metadataMap(random, random.int(0, 4), 1), [oddString(random)]: { list: [1, null] } } } };
    case "deep":
      return { filter_metadata: { [namespace]: nested(random.int(8, MAX_STRUCT_DEPTH), oddString(random)) } };
    case "malformed":
      return { filter_metadata: { [namespace]: malformedPairs(random) } };
  }
}

/** A session's clusters: a small fixed set, as an Envoy configuration has, so a warm-up can see them all. */
export function clusters(random: Random, namespace: string): ClusterInfo[] {
  return Array.from({ length: 6 }, (_, i) => ({ name: `cluster_${i}`, metadata: metadata(random, namespace) }));
}

export function upstreamHosts(random: Random, namespace: string): UpstreamHostInfo[] {
  return Array.from({ length: 4 }, (_, i) => ({
    address: { address: random.pick(["127.0.0.1", "10.1.2.3", "::1", "fe80::1"]), port: 8099 + i },
    metadata: metadata(random, namespace),
  }));
}

// ---------------------------------------------------------------- plugin configurations

const DEFAULT_NAMESPACE = "location";
const DEFAULT_PREVIEW_BYTES = 256;
const MAX_PREVIEW_BYTES = 65536;
const DEFAULT_METADATA_PREVIEW_BYTES = 256;
const MAX_METADATA_PREVIEW_BYTES = 65536;

export interface ValidConfiguration {
  text: string;
  namespace: string;
  previewBytes: number;
  metadataPreviewBytes: number;
}

/** The plugin's `configured:` line for a configuration: metadata_preview_bytes only when not the default. */
export function configuredLine(config: ValidConfiguration): string {
  const line = `configured: metadata_namespace=${escapeText(config.namespace)} payload_preview_bytes=${config.previewBytes}`;
  return config.metadataPreviewBytes === DEFAULT_METADATA_PREVIEW_BYTES ? line : `${line} metadata_preview_bytes=${config.metadataPreviewBytes}`;
}

export interface InvalidConfiguration {
  text: string;
  /** the plugin's error line, after `invalid plugin configuration: ` */
  error: string;
  /** the error is `malformed JSON at byte <n>`, with n not predicted */
  malformed: boolean;
}

interface Member {
  key: string;
  value: string;
}

/** JSON whitespace, usually none. */
function space(random: Random): string {
  if (random.chance(0.7)) return "";
  return Array.from({ length: random.int(1, 3) }, () => random.pick([" ", "\t", "\n", "\r"])).join("");
}

/** A JSON string literal of `text`, each character written as is or escaped, at random. */
function jsonString(random: Random, text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    const mustEscape = code < 0x20 || char === '"' || char === "\\";
    if (!mustEscape && random.chance(0.8)) {
      out += char;
      continue;
    }
    const short: Record<string, string> = { '"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    if (short[char] !== undefined && random.chance(0.5)) {
      out += short[char];
      continue;
    }
    // A character outside the BMP is two UTF-16 units, each escaped.
    for (let i = 0; i < char.length; i++) {
      const hex = char.charCodeAt(i).toString(16).padStart(4, "0");
      out += "\\u" + (random.chance(0.5) ? hex.toUpperCase() : hex);
    }
  }
  return out + '"';
}

function jsonObject(random: Random, members: readonly Member[]): string {
  const body = members.map(({ key, value }) => `${space(random)}${jsonString(random, key)}${space(random)}:${space(random)}${value}${space(random)}`);
  return `${space(random)}{${body.length === 0 ? space(random) : body.join(",")}}${space(random)}`;
}

/** Namespaces a user may write, well-formed unicode (the plugin and Node encode those alike), without NUL. */
function namespaceName(random: Random): string {
  return random.pick([
    "location", "envoy.lb", "a", "地域", "😀", "v".repeat(random.int(100, 2000)),
    "\x1b[31mred", "line\nbreak", "tab\t", 'quote"back\\slash', "\x7f\u009b", "ns/with/slashes",
  ]);
}

function previewBytes(random: Random): number {
  return random.chance(0.5) ? random.pick([0, 1, 16, 255, 256, 4096, 65535, MAX_PREVIEW_BYTES]) : random.int(0, MAX_PREVIEW_BYTES);
}

/** Budgets for metadata: small ones cut most values, so that the cutting is what is exercised. */
function metadataPreviewBytes(random: Random): number {
  return random.chance(0.5) ? random.pick([1, 2, 7, 8, 64, 255, 256, MAX_METADATA_PREVIEW_BYTES]) : random.int(1, 512);
}

function validMembers(random: Random): { members: Member[]; namespace: string; previewBytes: number; metadataPreviewBytes: number } {
  let namespace = DEFAULT_NAMESPACE;
  let preview = DEFAULT_PREVIEW_BYTES;
  let metadataPreview = DEFAULT_METADATA_PREVIEW_BYTES;
  const members: Member[] = [];
  if (random.chance(0.7)) {
    namespace = namespaceName(random);
    members.push({ key: "metadata_namespace", value: jsonString(random, namespace) });
  }
  if (random.chance(0.7)) {
    preview = previewBytes(random);
    members.push({ key: "payload_preview_bytes", value: String(preview) });
  }
  if (random.chance(0.5)) {
    metadataPreview = metadataPreviewBytes(random);
    members.push({ key: "metadata_preview_bytes", value: String(metadataPreview) });
  }
  for (let i = members.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [members[i], members[j]] = [members[j], members[i]];
  }
  return { members, namespace, previewBytes: preview, metadataPreviewBytes: metadataPreview };
}

export function validConfiguration(random: Random): ValidConfiguration {
  if (random.chance(0.1)) {
    return { text: "", namespace: DEFAULT_NAMESPACE, previewBytes: DEFAULT_PREVIEW_BYTES, metadataPreviewBytes: DEFAULT_METADATA_PREVIEW_BYTES };
  }
  const { members, ...settings } = validMembers(random);
  return { text: jsonObject(random, members), ...settings };
}

const BAD_PREVIEW_VALUES = [
  "-1", "65537", "99999", "100000", "1.5", "1e2", "1E2", "256.0", "-0", "0.0", '"256"', "true", "false", "null",
  "123456789012345678901234567890", "6.5536e4",
];
const BAD_NAMESPACE_VALUES = ['""', "1", "true", "false", "null", "-3.5e2"];
const BAD_METADATA_PREVIEW_VALUES = ["0", "-1", "65537", "1.5", "1e2", '"64"', "true", "null", "-0"];
/** Half a surrogate pair, which no UTF-8 can hold, and the code unit the error names. */
const LONE_SURROGATES: Array<[string, string]> = [['"\\ud800"', "d800"], ['"loc\\udfffation"', "dfff"], ['"\\ud83d\\ud83d\\ude00"', "d83d"], ['"x\\uDBFF"', "dbff"]];
/** A NUL would split the property path the namespace is read from. */
const NUL_NAMESPACE_VALUES = ['"nul\\u0000byte"', '"\\u0000"', '"location\\u0000az"'];
const SCALAR_VALUES = ['"x"', "1", "-2.5e-3", "true", "false", "null", '""'];
const UNKNOWN_KEYS = ["foo", "", "Metadata_Namespace", "payload_preview_bytes ", "metadata_namespace\0", "😀", "\x1b[2J", "k\nk", "payload-preview-bytes"];

/** A configuration with one bad member after valid ones, or malformed JSON. */
export function invalidConfiguration(random: Random): InvalidConfiguration {
  const kind = random.weighted({
    unknownKey: 3, badNamespace: 2, nulNamespace: 1, loneSurrogate: 1, badPreview: 3, badMetadataPreview: 2, duplicate: 2, nested: 1, notAnObject: 1, corrupted: 4,
  });
  let bad: Member;
  let error = "";
  switch (kind) {
    case "unknownKey": {
      const key = random.pick(UNKNOWN_KEYS);
      bad = { key, value: random.pick(SCALAR_VALUES) };
      error = `unknown key "${escapeText(key)}"`;
      break;
    }
    case "badNamespace":
      bad = { key: "metadata_namespace", value: random.pick(BAD_NAMESPACE_VALUES) };
      error = `"metadata_namespace" must be a non-empty string`;
      break;
    case "nulNamespace":
      bad = { key: "metadata_namespace", value: random.pick(NUL_NAMESPACE_VALUES) };
      error = `"metadata_namespace" must not contain NUL (\\u0000)`;
      break;
    case "loneSurrogate": {
      const [value, unit] = random.pick(LONE_SURROGATES);
      bad = { key: "metadata_namespace", value };
      error = `"metadata_namespace" must be valid Unicode: it holds \\u${unit}, half of a surrogate pair`;
      break;
    }
    case "badPreview":
      bad = { key: "payload_preview_bytes", value: random.pick(BAD_PREVIEW_VALUES) };
      error = `"payload_preview_bytes" must be an integer from 0 to 65536`;
      break;
    case "badMetadataPreview":
      bad = { key: "metadata_preview_bytes", value: random.pick(BAD_METADATA_PREVIEW_VALUES) };
      error = `"metadata_preview_bytes" must be an integer from 1 to 65536`;
      break;
    case "duplicate":
      // Duplicates are checked before values: the second member's value does not matter.
      bad = random.chance(0.5) ? { key: "metadata_namespace", value: random.pick(SCALAR_VALUES) } : { key: "payload_preview_bytes", value: random.pick(SCALAR_VALUES) };
      error = `duplicate key "${bad.key}"`;
      break;
    case "nested":
      // The plugin's configuration is flat: an object or array value is malformed JSON to it.
      bad = { key: random.pick(["metadata_namespace", "payload_preview_bytes", "foo"]), value: random.pick(['{"a": 1}', "[]", "[1, 2]", "{}"]) };
      break;
    case "notAnObject": {
      // Valid JSON of another kind is named; whitespace alone is no JSON at all.
      const [text, kind] = random.pick<[string, string | null]>([
        ["[]", "an array"], ["1", "a number"], ['"x"', "a string"], ["null", "null"], ["true", "true"], [" [ ] ", "an array"], ["[{}, [1]]", "an array"], ["  ", null],
      ]);
      if (kind === null) return { text, error: "", malformed: true };
      return { text, error: `configuration must be a JSON object, got ${kind}`, malformed: false };
    }
    case "corrupted":
      return { text: corrupted(random, validConfiguration(random).text || "{}"), error: "", malformed: true };
  }
  // The members before the bad one are valid and distinct, so the bad one is the error reported;
  // a duplicate needs its first occurrence among them.
  const { members } = validMembers(random);
  const before = members.filter((m) => m.key !== bad.key);
  if (kind === "duplicate") {
    const first = bad.key === "metadata_namespace" ? jsonString(random, namespaceName(random)) : String(previewBytes(random));
    before.splice(random.int(0, before.length), 0, { key: bad.key, value: first });
  }
  const after = random.chance(0.5) ? validMembers(random).members : [];
  const text = jsonObject(random, [...before, bad, ...after]);
  return { text, error, malformed: kind === "nested" };
}
/** `text` truncated, or with a character replaced or inserted, until it is no longer JSON. */
function corrupted(random: Random, text: string): string {
  for (;;) {
    const at = random.int(0, text.length - 1);
    const char = random.pick(["{", "}", '"', ":", ",", "x", "\x01", "\\", "]", "0", "-", "\ufeff"]);
    const candidate = random.weighted({ truncate: 1, replace: 1, insert: 1 });
    const result =
      candidate === "truncate" ? text.slice(0, at) : candidate === "replace" ? text.slice(0, at) + char + text.slice(at + 1) : text.slice(0, at) + char + text.slice(at);
    if (result === "") continue; // empty means "all defaults", a valid configuration
    try {
      JSON.parse(result);
    } catch {
      return result;
    }
  }
}
