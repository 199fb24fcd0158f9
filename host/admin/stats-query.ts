// The query of admin /stats and /stats/prometheus as Envoy's StatsParams::parse reads it
// (source/server/admin/stats_params.cc; docs/envoy-host.md §14): `filter` (an RE2 expression a
// stat's full name must contain a match of: RE2::PartialMatch), `usedonly` (only stats written
// since start), `type` and `format`, each refused with Envoy's message when malformed.

import { compileRe2, partialMatch, type Re2 } from "../re2.ts";
import type { StatSelector } from "../stats.ts";
import type { StatKind } from "../stats.ts";
import type { QueryParams } from "./query.ts";

export type StatsFormat = "text" | "json" | "prometheus";

export type StatsQuery = { format: StatsFormat; select: StatSelector } | { error: string };

/** `type=`: StatLabels of stats_params.h; text readouts are a kind the local host never has. */
const TYPES: Record<string, StatKind[]> = {
  All: ["counter", "gauge", "histogram"],
  Counters: ["counter"],
  Gauges: ["gauge"],
  Histograms: ["histogram"],
  TextReadouts: [],
};

const HTML_FORMATS = new Set(["html", "active-html"]);

export function parseStatsQuery(params: QueryParams, defaultFormat: StatsFormat): StatsQuery {
  const usedOnly = params.has("usedonly");
  let filter: Re2 | undefined;
  const pattern = params.get("filter");
  // an empty filter is no filter, as in Envoy
  if (pattern !== undefined && pattern !== "") {
    const compiled = compileRe2(pattern);
    if ("error" in compiled) return { error: `Invalid re2 regex: ${compiled.error}` };
    filter = compiled.regex;
  }
  const typeName = params.get("type") ?? "All";
  const kinds = Object.hasOwn(TYPES, typeName) ? TYPES[typeName]! : undefined;
  if (kinds === undefined) return { error: "invalid &type= param" };
  const format = params.get("format") ?? defaultFormat;
  if (HTML_FORMATS.has(format)) return { error: "HTML output was disabled by building with --define=admin_html=disabled" };
  if (format !== "text" && format !== "json" && format !== "prometheus") {
    return { error: "usage: /stats?format=(html|active-html|json|prometheus|text)\n\n" };
  }
  const select: StatSelector = (stat) =>
    kinds.includes(stat.kind) && (!usedOnly || stat.used) && (filter === undefined || partialMatch(filter, stat.name));
  return { format, select };
}
