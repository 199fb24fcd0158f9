// response_stamp's plugin: the line it writes into each response, read from the plugin
// configuration, and its counters.
//
// The configuration is a JSON object, e.g. {"stamp": "x-served-through: wasm"}; it may be left
// out. The kit's parseConfiguration (assembly/kit/configuration.ts) refuses malformed JSON,
// duplicate and unknown keys by itself.

import { counter, JsonKind, JsonMember, Metric, parseConfiguration, quoted } from "../../assembly/kit";

const DEFAULT_STAMP = "x-stamped-by: response_stamp";
const MAX_STAMP_BYTES = 1024;
const CRLF = "\r\n";

export class StampSettings {
  stamp: string = DEFAULT_STAMP;
  /** the stamp and CRLF, as UTF-8: what is inserted */
  stampLine: ArrayBuffer = String.UTF8.encode(DEFAULT_STAMP + CRLF);

  /** One member: "" when applied, the error for a bad value, null for a key that is not ours. */
  apply(member: JsonMember): string | null {
    if (member.key != "stamp") return null;
    const value = member.value;
    const text = value.text;
    const size = String.UTF8.byteLength(text);
    // One line: a CR or LF in it would end the line early, and the rest would be a line of its own.
    if (value.kind != JsonKind.String || size == 0 || size > MAX_STAMP_BYTES || text.includes("\r") || text.includes("\n")) {
      return quoted(member.key) + " must be one line of 1 to " + MAX_STAMP_BYTES.toString() + " bytes, without CR or LF";
    }
    this.stamp = text;
    this.stampLine = String.UTF8.encode(text + CRLF);
    return "";
  }
}

export class StampPlugin {
  settings: StampSettings = new StampSettings();
  /** Envoy shows them as wasmcustom.response_stamp_stamped and wasmcustom.response_stamp_upstream_bytes */
  stamped: Metric = counter("response_stamp_stamped");
  upstreamBytes: Metric = counter("response_stamp_upstream_bytes");

  configure(configuration: ArrayBuffer): string {
    const parsed = parseConfiguration<StampSettings>(configuration, false);
    if (parsed.error.length > 0) return parsed.error;
    this.settings = parsed.settings;
    return "";
  }

  describe(): string {
    return "stamp=" + quoted(this.settings.stamp);
  }
}
