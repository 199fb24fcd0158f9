// A protobuf message as Envoy's admin prints it pretty (MessageUtil::getJsonStringFromMessage
// with pretty_print): protobuf's JSON with one space of indentation per level and a newline at
// the end.

import type { JsonValue } from "../config/model.ts";

export function protoJson(message: JsonValue): string {
  return JSON.stringify(message, null, 1) + "\n";
}
