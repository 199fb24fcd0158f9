// The logger's plugin configuration: a flat JSON object such as
// {"metadata_namespace": "location", "payload_preview_bytes": 256}. Values are strings, numbers,
// true, false or null; an object or array value is malformed JSON here. Every error names the key
// or the byte.

import { quoted } from "../kit/configuration";
import { escapeBytes } from "../kit/escape";
import { JsonKind, JsonMember } from "../kit/json";

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
    return null;
  }
}
