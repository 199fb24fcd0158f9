import { parseConfiguration, ParsedConfiguration } from "../../assembly/kit/configuration";
import { PluginSettings } from "../../assembly/logger/config";

/** The logger's configuration as its plugin parses it: flat. */
function parsePluginConfiguration(data: ArrayBuffer): ParsedConfiguration<PluginSettings> {
  return parseConfiguration<PluginSettings>(data, false);
}

function errorOf(json: string): string {
  return parsePluginConfiguration(String.UTF8.encode(json)).error;
}

describe("the logger's configuration", () => {
  it("uses the defaults for an empty configuration", () => {
    const parsed = parsePluginConfiguration(new ArrayBuffer(0));
    expect(parsed.error).toBe("");
    expect(parsed.settings.metadataNamespace).toBe("location");
    expect(parsed.settings.payloadPreviewBytes).toBe(256);
    expect(parsed.settings.describe()).toBe("metadata_namespace=location payload_preview_bytes=256");
  });

  it("uses the defaults for an empty object", () => {
    const parsed = parsePluginConfiguration(String.UTF8.encode(" { } "));
    expect(parsed.error).toBe("");
    expect(parsed.settings.describe()).toBe("metadata_namespace=location payload_preview_bytes=256");
  });

  it("reads both keys, with whitespace and string escapes", () => {
    const parsed = parsePluginConfiguration(String.UTF8.encode("{\n \"metadata_namespace\" : \"envoy.\\u006cb\",\t\"payload_preview_bytes\": 0 }"));
    expect(parsed.error).toBe("");
    expect(parsed.settings.metadataNamespace).toBe("envoy.lb");
    expect(parsed.settings.payloadPreviewBytes).toBe(0);
  });

  it("accepts the largest preview budget", () => {
    expect(parsePluginConfiguration(String.UTF8.encode("{\"payload_preview_bytes\": 65536}")).settings.payloadPreviewBytes).toBe(65536);
  });

  it("names an unknown key", () => {
    expect(errorOf("{\"foo\": 1}")).toBe("unknown key \"foo\"");
  });

  it("escapes a hostile key in its error", () => {
    expect(errorOf("{\"a\\nb\": 1}")).toBe("unknown key \"a\\nb\"");
  });

  it("shows 256 bytes of a key at most, as a payload preview does, and how many more there are", () => {
    expect(errorOf("{\"" + "k".repeat(256) + "\": 1}")).toBe("unknown key \"" + "k".repeat(256) + "\"");
    expect(errorOf("{\"" + "\\n".repeat(300) + "\": 1}")).toBe("unknown key \"" + "\\n".repeat(256) + "\" ... (+44 bytes)");
  });

  it("says what valid JSON that is not an object is", () => {
    expect(errorOf("null")).toBe("configuration must be a JSON object, got null");
    expect(errorOf(" [] ")).toBe("configuration must be a JSON object, got an array");
    expect(errorOf("[1, [2, {\"a\": []}]]")).toBe("configuration must be a JSON object, got an array");
    expect(errorOf("42")).toBe("configuration must be a JSON object, got a number");
    expect(errorOf("-1.5e3")).toBe("configuration must be a JSON object, got a number");
    expect(errorOf("\"location\"")).toBe("configuration must be a JSON object, got a string");
    expect(errorOf("true")).toBe("configuration must be a JSON object, got true");
    expect(errorOf("false")).toBe("configuration must be a JSON object, got false");
  });

  it("refuses a duplicate key", () => {
    expect(errorOf("{\"payload_preview_bytes\": 1, \"payload_preview_bytes\": 2}")).toBe("duplicate key \"payload_preview_bytes\"");
  });

  it("refuses a preview budget that is not an integer from 0 to 65536", () => {
    const message = "\"payload_preview_bytes\" must be an integer from 0 to 65536";
    expect(errorOf("{\"payload_preview_bytes\": 65537}")).toBe(message);
    expect(errorOf("{\"payload_preview_bytes\": -1}")).toBe(message);
    expect(errorOf("{\"payload_preview_bytes\": 1.5}")).toBe(message);
    expect(errorOf("{\"payload_preview_bytes\": 1e2}")).toBe(message);
    expect(errorOf("{\"payload_preview_bytes\": 99999999999999999999}")).toBe(message);
    expect(errorOf("{\"payload_preview_bytes\": \"256\"}")).toBe(message);
    expect(errorOf("{\"payload_preview_bytes\": null}")).toBe(message);
  });

  it("refuses a metadata namespace that is not a non-empty string", () => {
    const message = "\"metadata_namespace\" must be a non-empty string";
    expect(errorOf("{\"metadata_namespace\": \"\"}")).toBe(message);
    expect(errorOf("{\"metadata_namespace\": 5}")).toBe(message);
    expect(errorOf("{\"metadata_namespace\": true}")).toBe(message);
  });

  it("refuses a NUL in the metadata namespace, which would split the property path", () => {
    expect(errorOf("{\"metadata_namespace\": \"location\\u0000az\"}"))
      .toBe("\"metadata_namespace\" must not contain NUL (\\u0000)");
  });

  it("refuses a metadata namespace with half a surrogate pair: it has no UTF-8 form", () => {
    expect(errorOf("{\"metadata_namespace\": \"\\ud800\"}"))
      .toBe("\"metadata_namespace\" must be valid Unicode: it holds \\ud800, half of a surrogate pair");
    expect(errorOf("{\"metadata_namespace\": \"a\\udc00b\"}"))
      .toBe("\"metadata_namespace\" must be valid Unicode: it holds \\udc00, half of a surrogate pair");
    expect(errorOf("{\"metadata_namespace\": \"\\ud83d\\ud83d\\ude00\"}"))
      .toBe("\"metadata_namespace\" must be valid Unicode: it holds \\ud83d, half of a surrogate pair");
    // a whole pair is one character
    expect(errorOf("{\"metadata_namespace\": \"\\ud83d\\ude00\"}")).toBe("");
  });

  it("reads metadata_preview_bytes from 1 to 65536, and names it in the settings when not the default", () => {
    const parsed = parsePluginConfiguration(String.UTF8.encode("{\"metadata_preview_bytes\": 1}"));
    expect(parsed.error).toBe("");
    expect(parsed.settings.metadataPreviewBytes).toBe(1);
    expect(parsed.settings.describe()).toBe("metadata_namespace=location payload_preview_bytes=256 metadata_preview_bytes=1");
    expect(parsePluginConfiguration(String.UTF8.encode("{\"metadata_preview_bytes\": 65536}")).settings.metadataPreviewBytes).toBe(65536);
    expect(parsePluginConfiguration(String.UTF8.encode("{\"metadata_preview_bytes\": 256}")).settings.describe())
      .toBe("metadata_namespace=location payload_preview_bytes=256");
    const message = "\"metadata_preview_bytes\" must be an integer from 1 to 65536";
    const bad = ["0", "65537", "-1", "1.5", "\"64\"", "true", "null", "1e2"];
    for (let i = 0; i < bad.length; i++) expect(errorOf("{\"metadata_preview_bytes\": " + bad[i] + "}")).toBe(message, bad[i]);
  });

  it("gives the byte where malformed JSON goes wrong", () => {
    expect(errorOf("{\"a\" 1}")).toBe("malformed JSON at byte 5");
    expect(errorOf("{\"metadata_namespace\": \"x\",}")).toBe("malformed JSON at byte 27");
    expect(errorOf("{\"metadata_namespace\": \"x\"")).toBe("malformed JSON at byte 26");
    expect(errorOf("{} x")).toBe("malformed JSON at byte 3");
    expect(errorOf("[1,]")).toBe("malformed JSON at byte 3");
    expect(errorOf("[[1] 2]")).toBe("malformed JSON at byte 5");
    expect(errorOf("nul")).toBe("malformed JSON at byte 0");
    expect(errorOf("-")).toBe("malformed JSON at byte 1");
    expect(errorOf("01")).toBe("malformed JSON at byte 1");
    expect(errorOf("{\"a\": 01}")).toBe("malformed JSON at byte 7");
    expect(errorOf("{\"a\": tru}")).toBe("malformed JSON at byte 6");
    expect(errorOf("{\"a\": \"\\q\"}")).toBe("malformed JSON at byte 8");
    expect(errorOf("{\"a\": \"x\ny\"}")).toBe("malformed JSON at byte 8");
    expect(errorOf("{\"a\": {\"b\": 1}}")).toBe("malformed JSON at byte 6");
    expect(errorOf(" ")).toBe("malformed JSON at byte 1");
  });
});
