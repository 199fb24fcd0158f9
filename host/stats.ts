// Envoy's stat store as the admin endpoints show it: /stats text and /stats/prometheus.
// Histograms are minimal: a sample count and a sum (`add` records one sample).

import type { StatKind, StatsStore } from "./wasm/api.ts";

interface Stat {
  kind: StatKind;
  /** counter or gauge value; for a histogram, the sum of its samples */
  value: bigint;
  /** histogram samples recorded */
  samples: bigint;
}

/** Stats named `wasmcustom.<name>` are a custom namespace: Prometheus shows them without `envoy_`. */
const CUSTOM_NAMESPACE = "wasmcustom.";

/**
 * Envoy's default tag extractors for the prefixes of its own tcp_proxy, HTTP connection manager
 * and cluster stats: the captured segment leaves the name and becomes a label. The local host
 * defines only the plugin's `wasmcustom.` stats; a store may hold others.
 */
const TAG_EXTRACTORS: ReadonlyArray<{ prefix: string; tag: string }> = [
  { prefix: "tcp.", tag: "envoy_tcp_prefix" },
  { prefix: "http.", tag: "envoy_http_conn_manager_prefix" },
  { prefix: "cluster.", tag: "envoy_cluster_name" },
];

export function createStatsStore(): StatsStore {
  const stats = new Map<string, Stat>();

  function define(fullName: string, kind: StatKind): Stat {
    let stat = stats.get(fullName);
    if (stat === undefined) {
      stat = { kind, value: 0n, samples: 0n };
      stats.set(fullName, stat);
    }
    return stat;
  }

  function sortedOf(kinds: StatKind[]): Array<[string, Stat]> {
    return [...stats].filter(([, stat]) => kinds.includes(stat.kind)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  return {
    define(fullName, kind) {
      define(fullName, kind);
    },
    add(fullName, delta) {
      const stat = stats.get(fullName);
      if (stat === undefined) return;
      stat.value += delta;
      if (stat.kind === "histogram") stat.samples += 1n;
    },
    set(fullName, value) {
      const stat = stats.get(fullName);
      if (stat !== undefined) stat.value = value;
    },
    get(fullName) {
      return stats.get(fullName)?.value;
    },
    renderText() {
      const lines = sortedOf(["counter", "gauge"]).map(([name, stat]) => `${name}: ${stat.value}`);
      for (const [name, stat] of sortedOf(["histogram"])) {
        lines.push(stat.samples === 0n ? `${name}: No recorded values` : `${name}: count=${stat.samples} sum=${stat.value}`);
      }
      return lines.map((line) => line + "\n").join("");
    },
    renderPrometheus() {
      const out: string[] = [];
      for (const kind of ["counter", "gauge", "histogram"] as const) {
        const families = new Map<string, Array<{ labels: string; stat: Stat }>>();
        for (const [fullName, stat] of sortedOf([kind])) {
          const { metric, labels } = prometheusName(fullName);
          const family = families.get(metric) ?? [];
          family.push({ labels, stat });
          families.set(metric, family);
        }
        for (const metric of [...families.keys()].sort()) {
          out.push(`# TYPE ${metric} ${kind}`);
          for (const { labels, stat } of families.get(metric)!) out.push(...sampleLines(metric, labels, stat));
        }
      }
      return out.map((line) => line + "\n").join("");
    },
  };
}

function sampleLines(metric: string, labels: string, stat: Stat): string[] {
  if (stat.kind !== "histogram") return [`${metric}{${labels}} ${stat.value}`];
  const bucketLabels = labels === "" ? `le="+Inf"` : `${labels},le="+Inf"`;
  return [
    `${metric}_bucket{${bucketLabels}} ${stat.samples}`,
    `${metric}_sum{${labels}} ${stat.value}`,
    `${metric}_count{${labels}} ${stat.samples}`,
  ];
}

/** The Prometheus metric name and labels Envoy prints for a stat. */
function prometheusName(fullName: string): { metric: string; labels: string } {
  if (fullName.startsWith(CUSTOM_NAMESPACE)) {
    return { metric: sanitize(fullName.slice(CUSTOM_NAMESPACE.length)), labels: "" };
  }
  for (const { prefix, tag } of TAG_EXTRACTORS) {
    const rest = fullName.slice(prefix.length);
    const dot = rest.indexOf(".");
    if (fullName.startsWith(prefix) && dot > 0) {
      const value = rest.slice(0, dot);
      return { metric: "envoy_" + sanitize(prefix + rest.slice(dot + 1)), labels: `${tag}="${value}"` };
    }
  }
  return { metric: "envoy_" + sanitize(fullName), labels: "" };
}

function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}
