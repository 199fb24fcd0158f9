// The logger's plugin configuration: a flat JSON object such as
// {"metadata_namespace": "location", "payload_preview_bytes": 256}. Values are strings, numbers,
// true, false or null; an object or array value is malformed JSON here. Every error names the key
// or the byte.

import { escapeBytes, JsonKind, JsonMember, quoted } from "../kit";

export const DEFAULT_METADATA_NAMESPACE = "location";
const DEFAULT_PAYLOAD_PREVIEW_BYTES: u32 = 256;
const MAX_PAYLOAD_PREVIEW_BYTES: u32 = 65536;
const DEFAULT_METADATA_PREVIEW_BYTES: u32 = 256;
const MIN_METADATA_PREVIEW_BYTES: u32 = 1;
const MAX_METADATA_PREVIEW_BYTES: u32 = 65536;

export class PluginSettings {
  metadataNamespace: string = DEFAULT_METADATA_NAMESPACE;
  /** 0 turns payload previews off */
  payloadPreviewBytes: u32 = DEFAULT_PAYLOAD_PREVIEW_BYTES;
  /** bytes shown of the namespace, of a metadata key and of a metadata value in a connection's lines */
  metadataPreviewBytes: u32 = DEFAULT_METADATA_PREVIEW_BYTES;

  /** The settings for the `configured:` line; metadata_preview_bytes only when it is not the default. */
  describe(): string {
    const described = "metadata_namespace=" + escapeBytes(String.UTF8.encode(this.metadataNamespace)) +
      " payload_preview_bytes=" + this.payloadPreviewBytes.toString();
    if (this.metadataPreviewBytes == DEFAULT_METADATA_PREVIEW_BYTES) return described;
    return described + " metadata_preview_bytes=" + this.metadataPreviewBytes.toString();
  }

  /** Applies one member (kit/configuration.ts): the error, "" when it is fine, null for an unknown key. */
  apply(member: JsonMember): string | null {
    const value = member.value;
    if (member.key == "metadata_namespace") {
      if (value.kind != JsonKind.String || value.text.length == 0) {
        return quoted(member.key) + " must be a non-empty string";
      }
      // NUL separates the segments of a property path: one inside the namespace would read
      // another path than the namespace names.
      if (value.text.includes("\0")) return quoted(member.key) + " must not contain NUL (\\u0000)";
      const surrogate = loneSurrogate(value.text);
      if (surrogate >= 0) {
        return quoted(member.key) + " must be valid Unicode: it holds \\u" + surrogate.toString(16) + ", half of a surrogate pair";
      }
      this.metadataNamespace = value.text;
      return "";
    }
    if (member.key == "payload_preview_bytes") {
      const budget = value.unsignedInteger();
      if (budget < 0 || budget > <i64>MAX_PAYLOAD_PREVIEW_BYTES) {
        return quoted(member.key) + " must be an integer from 0 to " + MAX_PAYLOAD_PREVIEW_BYTES.toString();
      }
      this.payloadPreviewBytes = <u32>budget;
      return "";
    }
    if (member.key == "metadata_preview_bytes") {
      const budget = value.unsignedInteger();
      if (budget < <i64>MIN_METADATA_PREVIEW_BYTES || budget > <i64>MAX_METADATA_PREVIEW_BYTES) {
        return quoted(member.key) + " must be an integer from " + MIN_METADATA_PREVIEW_BYTES.toString() + " to " + MAX_METADATA_PREVIEW_BYTES.toString();
      }
      this.metadataPreviewBytes = <u32>budget;
      return "";
    }
    return null;
  }
}

/**
 * The first UTF-16 code unit of `text` that is half of a surrogate pair without its other half
 * (JSON's `"\ud800"`), or -1. Such a string has no UTF-8 form: encoded, it would read a property
 * path no Envoy metadata key can have.
 */
function loneSurrogate(text: string): i32 {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    const low = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    if (unit >= 0xdc00 || low < 0xdc00 || low > 0xdfff) return unit;
    i++; // a pair: high then low
  }
  return -1;
}
