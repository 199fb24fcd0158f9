// The string Istio hands a Wasm plugin for a WasmPlugin's pluginConfig (docs/envoy-host.md §11):
// istiod marshals the google.protobuf.Struct with the legacy jsonpb Marshaler
// (pilot/pkg/model/extensions.go buildPluginConfig → pkg/util/protomarshal ToJSON) into a
// StringValue. jsonpb writes a Struct compactly, its keys sorted (jsonpb/encode.go marshalValue),
// every number as a double through Go's encoding/json, every string through encoding/json too.

type StructValue = null | boolean | number | string | StructValue[] | { [key: string]: StructValue };

/** encoding/json's float64: the shortest form that reads back, exponent below 1e-6 and from 1e21. */
function goFloat(value: number): string {
  // JavaScript picks the same digits and the same thresholds; only -0 differs ("-0" in Go).
  return Object.is(value, -0) ? "-0" : String(value);
}

/** encoding/json's string: HTML-safe (<, >, & escaped), U+2028 and U+2029 escaped. */
function goString(value: string): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => "\\u" + char.charCodeAt(0).toString(16).padStart(4, "0"));
}

export function istioPluginConfigJson(value: StructValue): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") return goFloat(value);
  if (typeof value === "string") return goString(value);
  if (Array.isArray(value)) return `[${value.map(istioPluginConfigJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${goString(key)}:${istioPluginConfigJson(value[key])}`).join(",")}}`;
}
