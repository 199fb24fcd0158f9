// The plugin configuration: a flat JSON object such as
// {"metadata_namespace": "location", "payload_preview_bytes": 256}, parsed strictly by hand
// (AssemblyScript 0.17 has no usable JSON library). Values are strings, numbers, true, false or
// null; an object or array value is malformed JSON here. Every error names the key or the byte.

import { escapeBytes } from "./preview";

export const DEFAULT_METADATA_NAMESPACE = "location";
const DEFAULT_PAYLOAD_PREVIEW_BYTES: u32 = 256;
const MAX_PAYLOAD_PREVIEW_BYTES: u32 = 65536;

export class PluginSettings {
  metadataNamespace: string = DEFAULT_METADATA_NAMESPACE;
  /** 0 turns payload previews off */
  payloadPreviewBytes: u32 = DEFAULT_PAYLOAD_PREVIEW_BYTES;

  describe(): string {
    return "metadata_namespace=" + escapeBytes(String.UTF8.encode(this.metadataNamespace)) +
      " payload_preview_bytes=" + this.payloadPreviewBytes.toString();
  }
}

/** The settings, or the reason the configuration is refused. */
export class ParsedConfiguration {
  settings: PluginSettings = new PluginSettings();
  /** empty when the configuration is valid */
  error: string = "";
}

enum JsonKind { String, Number, Other }

class JsonMember {
  key: string;
  kind: JsonKind;
  /** the decoded string, or the number's text */
  text: string;

  constructor(key: string, kind: JsonKind, text: string) {
    this.key = key;
    this.kind = kind;
    this.text = text;
  }
}

function isDigit(byte: i32): bool {
  return byte >= 0x30 && byte <= 0x39;
}

function hexValue(byte: i32): i32 {
  if (isDigit(byte)) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}

/**
 * A strict JSON reader for one flat object whose members are kept with their kind. There are no
 * exceptions: the first error sets `errorAt` and stops.
 */
class FlatObjectReader {
  private base: usize;
  private size: i32;
  private position: i32 = 0;
  /** the byte offset of the first error, -1 while there is none */
  errorAt: i32 = -1;
  members: JsonMember[] = [];
  /** the last string or number read: the decoded string, or the number's text */
  private valueText: string = "";

  constructor(data: ArrayBuffer) {
    this.base = changetype<usize>(data);
    this.size = data.byteLength;
  }

  /** the byte at the position, -1 at the end */
  private peek(): i32 {
    return this.position < this.size ? <i32>load<u8>(this.base + this.position) : -1;
  }

  private fail(): bool {
    if (this.errorAt < 0) this.errorAt = this.position;
    return false;
  }

  private expect(byte: i32): bool {
    if (this.peek() != byte) return this.fail();
    this.position++;
    return true;
  }

  private skipWhitespace(): void {
    let byte = this.peek();
    while (byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d) {
      this.position++;
      byte = this.peek();
    }
  }

  /** The whole input: one object, whitespace around it. */
  readDocument(): bool {
    this.skipWhitespace();
    if (!this.readObject()) return false;
    this.skipWhitespace();
    if (this.position != this.size) return this.fail();
    return true;
  }

  private readObject(): bool {
    if (!this.expect(0x7b)) return false; // {
    this.skipWhitespace();
    if (this.peek() == 0x7d) { // }
      this.position++;
      return true;
    }
    while (true) {
      this.skipWhitespace();
      if (this.peek() != 0x22) return this.fail();
      const key = this.readString();
      if (key === null) return false;
      this.skipWhitespace();
      if (!this.expect(0x3a)) return false; // :
      this.skipWhitespace();
      const kind = this.readValue();
      if (this.errorAt >= 0) return false;
      this.members.push(new JsonMember(key, kind, this.valueText));
      this.skipWhitespace();
      if (this.peek() == 0x2c) { // ,
        this.position++;
        continue;
      }
      return this.expect(0x7d);
    }
  }

  /** Reads a value; its kind is meaningful only while errorAt stays -1. */
  private readValue(): JsonKind {
    const byte = this.peek();
    if (byte == 0x22) {
      const text = this.readString();
      this.valueText = text === null ? "" : text;
      return JsonKind.String;
    }
    if (byte == 0x2d || isDigit(byte)) {
      const start = this.position;
      if (this.readNumber()) this.valueText = String.UTF8.decodeUnsafe(this.base + start, this.position - start);
      return JsonKind.Number;
    }
    if (!this.readLiteral("true") && !this.readLiteral("false") && !this.readLiteral("null")) this.fail();
    return JsonKind.Other;
  }

  private readLiteral(word: string): bool {
    const length = word.length;
    if (this.position + length > this.size) return false;
    for (let i = 0; i < length; i++) {
      if (<i32>load<u8>(this.base + this.position + i) != word.charCodeAt(i)) return false;
    }
    this.position += length;
    return true;
  }

  private readDigits(): bool {
    if (!isDigit(this.peek())) return this.fail();
    while (isDigit(this.peek())) this.position++;
    return true;
  }

  /** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  private readNumber(): bool {
    if (this.peek() == 0x2d) this.position++;
    if (this.peek() == 0x30) {
      this.position++;
    } else if (!this.readDigits()) {
      return false;
    }
    if (this.peek() == 0x2e) {
      this.position++;
      if (!this.readDigits()) return false;
    }
    const exponent = this.peek();
    if (exponent == 0x65 || exponent == 0x45) {
      this.position++;
      const sign = this.peek();
      if (sign == 0x2b || sign == 0x2d) this.position++;
      if (!this.readDigits()) return false;
    }
    return true;
  }

  /** Reads a string at the position (on its opening quote) and returns it decoded, or null. */
  private readString(): string | null {
    this.position++; // "
    let text = "";
    let runStart = this.position;
    while (true) {
      const byte = this.peek();
      if (byte < 0x20) { // the end, or a raw control character
        this.fail();
        return null;
      }
      if (byte == 0x22) break;
      if (byte != 0x5c) {
        this.position++;
        continue;
      }
      text += String.UTF8.decodeUnsafe(this.base + runStart, this.position - runStart);
      this.position++; // backslash
      const escaped = this.readEscape();
      if (escaped < 0) {
        this.fail();
        return null;
      }
      text += String.fromCharCode(escaped);
      runStart = this.position;
    }
    text += String.UTF8.decodeUnsafe(this.base + runStart, this.position - runStart);
    this.position++; // "
    return text;
  }

  /** The UTF-16 code unit of the escape after a backslash, -1 if it is not one. */
  private readEscape(): i32 {
    const byte = this.peek();
    this.position++;
    switch (byte) {
      case 0x22: return 0x22;
      case 0x5c: return 0x5c;
      case 0x2f: return 0x2f;
      case 0x62: return 0x08;
      case 0x66: return 0x0c;
      case 0x6e: return 0x0a;
      case 0x72: return 0x0d;
      case 0x74: return 0x09;
      case 0x75: break; // u
      default:
        this.position--;
        return -1;
    }
    let unit = 0;
    for (let i = 0; i < 4; i++) {
      const digit = hexValue(this.peek());
      if (digit < 0) return -1;
      unit = (unit << 4) | digit;
      this.position++;
    }
    return unit;
  }
}

function quoted(key: string): string {
  return "\"" + escapeBytes(String.UTF8.encode(key)) + "\"";
}

/** A JSON integer literal from 0 to MAX_PAYLOAD_PREVIEW_BYTES, or -1. */
function previewBudget(member: JsonMember): i64 {
  if (member.kind != JsonKind.Number) return -1;
  const text = member.text;
  if (text.length > 5) return -1; // longer than 65536, or not a plain integer anyway
  let value: i64 = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + (code - 0x30);
  }
  return value <= <i64>MAX_PAYLOAD_PREVIEW_BYTES ? value : -1;
}

/** Applies one member to the settings; returns the error, or "" when it is fine. */
function applyMember(settings: PluginSettings, member: JsonMember): string {
  if (member.key == "metadata_namespace") {
    if (member.kind != JsonKind.String || member.text.length == 0) {
      return quoted(member.key) + " must be a non-empty string";
    }
    // NUL separates the segments of a property path: one inside the namespace would read
    // another path than the namespace names.
    if (member.text.includes("\0")) return quoted(member.key) + " must not contain NUL (\\u0000)";
    settings.metadataNamespace = member.text;
    return "";
  }
  if (member.key == "payload_preview_bytes") {
    const budget = previewBudget(member);
    if (budget < 0) return quoted(member.key) + " must be an integer from 0 to " + MAX_PAYLOAD_PREVIEW_BYTES.toString();
    settings.payloadPreviewBytes = <u32>budget;
    return "";
  }
  return "unknown key " + quoted(member.key);
}

/** Parses the plugin configuration; empty means all defaults. */
export function parsePluginConfiguration(data: ArrayBuffer): ParsedConfiguration {
  const parsed = new ParsedConfiguration();
  if (data.byteLength == 0) return parsed;
  const reader = new FlatObjectReader(data);
  if (!reader.readDocument()) {
    parsed.error = "malformed JSON at byte " + reader.errorAt.toString();
    return parsed;
  }
  const members = reader.members;
  for (let i = 0; i < members.length; i++) {
    const member = members[i];
    for (let j = 0; j < i; j++) {
      if (members[j].key == member.key) {
        parsed.error = "duplicate key " + quoted(member.key);
        return parsed;
      }
    }
    const error = applyMember(parsed.settings, member);
    if (error.length > 0) {
      parsed.error = error;
      return parsed;
    }
  }
  return parsed;
}
