// The --trace lines the CLI prints, rendered from the trace's events: the raw words first, then
// what they mean.
//
//   [2] → proxy_on_downstream_data(2, 163, 0)  163 bytes
//   [2]   proxy_get_buffer_bytes(2, 0, 163, 1904, 1908) → Ok  NetworkDownstreamData[0..163] 163 bytes
//   [2] ← proxy_on_downstream_data = 0  Continue

import { hostCallNamed, moduleFunctionNamed } from "./abi-table.ts";
import type { Meaning, TraceEvent, TraceListener } from "./contract.ts";

/** A listener that writes each event as one line. */
export function traceLines(write: (line: string) => void): TraceListener {
  return (event) => write(traceLine(event));
}

export function traceLine(event: TraceEvent): string {
  const thread = `[${event.thread}]`;
  switch (event.kind) {
    case "enter":
      return `${thread} → ${event.name}(${event.args.join(", ")})${detail(event.meaning, moduleFunctionNamed(event.name)?.text)}`;
    case "leave": {
      if (event.result === undefined) return `${thread} ← ${event.name}`;
      return `${thread} ← ${event.name} = ${event.result}${detail(event.meaning, moduleFunctionNamed(event.name)?.result?.text)}`;
    }
    case "host":
      return `${thread}   ${event.name}(${event.args.join(", ")}) → ${event.resultName}${detail(event.meaning, hostCallNamed(event.name)?.text)}`;
  }
}

/** Two spaces and the meaning as its entry words it; nothing for a meaning without facts. */
function detail(meaning: Meaning, text: ((meaning: Meaning) => string) | undefined): string {
  if (text === undefined || Object.keys(meaning).length === 0) return "";
  const shown = text(meaning);
  return shown === "" ? "" : `  ${shown}`;
}
