// A filter's plugin configuration: a JSON object whose members a settings class applies one by
// one. What every filter refuses the same way is refused here: malformed JSON, a duplicate key, an
// unknown key. Each error is one line's worth of text that names the key or the byte.

import { JsonMember, JsonObjectReader } from "./json";
import { previewText } from "./logline";

/**
 * Bytes of a configuration value an error shows, as many as a payload preview shows by default:
 * a value may be megabytes long, and an error is one line.
 */
const SHOWN_BYTES: usize = 256;

/**
 * Configuration bytes quoted and escaped for an error message, `"foo"`; cut as a payload preview
 * is, `"aaaa…" ... (+N bytes)`, past SHOWN_BYTES.
 */
export function quotedBytes(bytes: ArrayBuffer): string {
  return previewText(bytes, SHOWN_BYTES, "\"");
}

/** A key (or any configuration text) as quotedBytes shows its UTF-8. */
export function quoted(text: string): string {
  return quotedBytes(String.UTF8.encode(text));
}

/** A filter's settings from its plugin configuration, or the reason the configuration is refused. */
export class ParsedConfiguration<S> {
  settings: S;
  /** empty when the configuration is valid */
  error: string;

  constructor(settings: S, error: string) {
    this.settings = settings;
    this.error = error;
  }
}

/** New settings (S's defaults) with `data` applied: see applyConfiguration. */
export function parseConfiguration<S>(data: ArrayBuffer, nested: bool): ParsedConfiguration<S> {
  const settings = instantiate<S>();
  return new ParsedConfiguration<S>(settings, applyConfiguration<S>(data, settings, nested));
}

/**
 * Applies `data` (empty means all defaults) to `settings`, member by member in order. S has
 * `apply(member: JsonMember): string | null`, which returns the error for a bad value, "" when the
 * member is applied, and null for a key it does not know. `nested` lets member values be arrays
 * and objects; without it they are malformed JSON. Returns the first error, or "".
 */
export function applyConfiguration<S>(data: ArrayBuffer, settings: S, nested: bool): string {
  if (data.byteLength == 0) return "";
  const reader = new JsonObjectReader(data, nested);
  if (!reader.readDocument()) return reader.error;
  const members = reader.members;
  for (let i = 0; i < members.length; i++) {
    const member = members[i];
    if (isDuplicate(members, i)) return "duplicate key " + quoted(member.key);
    const error = settings.apply(member);
    if (error === null) return "unknown key " + quoted(member.key);
    if (error.length > 0) return error;
  }
  return "";
}

function isDuplicate(members: JsonMember[], index: i32): bool {
  const key = members[index].key;
  for (let i = 0; i < index; i++) {
    if (members[i].key == key) return true;
  }
  return false;
}
