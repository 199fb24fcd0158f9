// redact's plugin: what to find and what to put in its place, read from the plugin configuration,
// and its counter.
//
// The configuration is a JSON object, e.g. {"find": "hunter2", "replace_with": "*******"}: `find`
// is required, `replace_with` may be longer, shorter or empty. The kit's parseConfiguration
// (assembly/kit/configuration.ts) refuses malformed JSON, duplicate and unknown keys by itself.

import { counter, JsonKind, JsonMember, Metric, parseConfiguration, quoted } from "../../assembly/kit";

/** The longest `find` and `replace_with`: a connection holds up to `find`'s length minus one byte. */
const MAX_TEXT_BYTES = 1024;
const DEFAULT_REPLACEMENT = "[redacted]";

export class RedactSettings {
  /** the bytes to replace, as UTF-8; empty until the configuration gives them */
  find: ArrayBuffer = new ArrayBuffer(0);
  replaceWith: ArrayBuffer = String.UTF8.encode(DEFAULT_REPLACEMENT);

  /** One member: "" when applied, the error for a bad value, null for a key that is not ours. */
  apply(member: JsonMember): string | null {
    const key = member.key;
    if (key != "find" && key != "replace_with") return null;
    const value = member.value;
    const bytes = String.UTF8.encode(value.text);
    const smallest = key == "find" ? 1 : 0;
    if (value.kind != JsonKind.String || bytes.byteLength < smallest || bytes.byteLength > MAX_TEXT_BYTES) {
      return quoted(key) + " must be a string of " + smallest.toString() + " to " + MAX_TEXT_BYTES.toString() + " bytes";
    }
    if (key == "find") this.find = bytes;
    else this.replaceWith = bytes;
    return "";
  }
}

export class RedactPlugin {
  settings: RedactSettings = new RedactSettings();
  /** Envoy shows it as wasmcustom.redact_replacements */
  replacements: Metric = counter("redact_replacements");

  configure(configuration: ArrayBuffer): string {
    const parsed = parseConfiguration<RedactSettings>(configuration, false);
    if (parsed.error.length > 0) return parsed.error;
    // A key left out is not an error for the kit: a required one is checked here.
    if (parsed.settings.find.byteLength == 0) return quoted("find") + " is required";
    this.settings = parsed.settings;
    return "";
  }

  // The secret itself is never logged: only its length.
  describe(): string {
    return "find=<" + this.settings.find.byteLength.toString() + " bytes> replace_with=" + quoted(String.UTF8.decode(this.settings.replaceWith));
  }
}
