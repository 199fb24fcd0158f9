// first_line's plugin: its one setting, read from the plugin configuration, and its counters.
//
// The configuration is a JSON object, e.g. {"max_line_bytes": 1024}. The kit's parseConfiguration
// (assembly/kit/configuration.ts) reads it and refuses malformed JSON, duplicate keys and unknown
// keys by itself; FirstLineSettings.apply only checks the keys it knows.

import { counter, JsonMember, Metric, parseConfiguration, quoted } from "../../assembly/kit";

/** max_line_bytes when the configuration leaves it out. */
const DEFAULT_MAX_LINE_BYTES: u32 = 1024;
/** The most max_line_bytes may be: the filter holds that many bytes of each client at most. */
const LARGEST_MAX_LINE_BYTES: u32 = 65536;

export class FirstLineSettings {
  /** the first line, its end of line included, must arrive within this many bytes */
  maxLineBytes: u32 = DEFAULT_MAX_LINE_BYTES;

  /**
   * Applies one member of the configuration object: "" when it is applied, the error when its
   * value is wrong, null when the key is not one of ours (the kit then says "unknown key").
   */
  apply(member: JsonMember): string | null {
    if (member.key != "max_line_bytes") return null;
    const value = member.value.unsignedInteger(); // -1 unless a plain non-negative integer
    if (value < 1 || value > <i64>LARGEST_MAX_LINE_BYTES) {
      return quoted(member.key) + " must be an integer from 1 to " + LARGEST_MAX_LINE_BYTES.toString();
    }
    this.maxLineBytes = <u32>value;
    return "";
  }
}

export class FirstLinePlugin {
  settings: FirstLineSettings = new FirstLineSettings();
  /** Envoy shows them as wasmcustom.first_line_found and wasmcustom.first_line_too_long */
  found: Metric = counter("first_line_found");
  tooLong: Metric = counter("first_line_too_long");

  // proxy_on_configure: "" takes the configuration, anything else is the one-line reason Envoy logs.
  configure(configuration: ArrayBuffer): string {
    // false: no value may be an array or an object (this filter has none).
    const parsed = parseConfiguration<FirstLineSettings>(configuration, false);
    if (parsed.error.length > 0) return parsed.error;
    this.settings = parsed.settings;
    return "";
  }

  // The `configured: ...` line the kit logs once the configuration is taken.
  describe(): string {
    return "max_line_bytes=" + this.settings.maxLineBytes.toString();
  }
}
