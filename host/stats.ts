// Envoy's stat store, shared by every VM and the network side of the process, as the admin
// endpoints show it: /stats as text and JSON, /stats/prometheus, each optionally narrowed to the
// stats an admin query selects (filter, usedonly, type). Histograms are minimal: a sample count
// and a sum (`add` records one sample).

export type StatKind = "counter" | "gauge" | "histogram";

/** Envoy's stat store, shared by all VMs of the process. */
export interface StatsStore {
  /** find or create the stat with this full name (e.g. `wasmcustom.connection_counter`) */
  define(fullName: string, kind: StatKind): void;
  add(fullName: string, delta: bigint): void;
  set(fullName: string, value: bigint): void;
  get(fullName: string): bigint | undefined;
  /** admin /stats: `name: value` lines, sorted by name */
  renderText(): string;
  /** admin /stats/prometheus: Envoy's exposition (docs/envoy-host.md §6) */
  renderPrometheus(): string;
}

/** What the store holds of one stat. */
interface StatValue {
  kind: StatKind;
  /** counter or gauge value; for a histogram, the sum of its samples */
  value: bigint;
  /** histogram samples recorded */
  samples: bigint;
  /** written since start (Envoy's `used` flag, which /stats?usedonly asks for) */
  used: boolean;
}

/** What an admin query can select a stat by. */
export interface StatView {
  /** the full name, e.g. cluster.web_service.upstream_cx_total */
  name: string;
  kind: StatKind;
  used: boolean;
}

export type StatSelector = (stat: StatView) => boolean;

const EVERY_STAT: StatSelector = () => true;

/** The store with the admin renderings narrowed by a selector. */
export interface AdminStatsStore extends StatsStore {
  renderText(select?: StatSelector): string;
  renderPrometheus(select?: StatSelector): string;
  /** /stats?format=json: Envoy's `{"stats":[{"name":...,"value":...}]}`; histograms are left out */
  renderJson(select?: StatSelector): string;
}

/** Stats named `wasmcustom.<name>` are a custom namespace: Prometheus shows them without `envoy_`. */
const CUSTOM_NAMESPACE = "wasmcustom.";

/**
 * Envoy's default tag extractors (its well-known tag names) for the stats the local host keeps,
 * in the order Envoy applies them: those that match anywhere in a name first, then those of the
 * name's first segment. Each matches the full name; group 1 leaves the name, and group 2 (or 1
 * when there is no group 2) becomes the label's value.
 */
const TAG_EXTRACTORS: ReadonlyArray<{ tag: string; regex: RegExp }> = [
  // *_rq_(<response_code_class>)xx
  { tag: "envoy_response_code_class", regex: /_rq_(\d)xx$/d },
  // tcp.(<stat_prefix>.)<base_stat>: the prefix runs to the last dot
  { tag: "envoy_tcp_prefix", regex: /^tcp\.((.*?)\.)\w+?$/d },
  // cluster.(<cluster_name>.)*
  { tag: "envoy_cluster_name", regex: /^cluster\.((.*?)\.)/d },
  // http.(<stat_prefix>.)*
  { tag: "envoy_http_conn_manager_prefix", regex: /^http\.((.*?)\.)/d },
  // listener.(<address>.)*: an IPv4 or bracketed IPv6 address and port, e.g. 0.0.0.0_18000
  { tag: "envoy_listener_address", regex: /^listener\.(((?:[_.\d]*|[_[\]a-fA-F\d]*))\.)/d },
];

export function createStatsStore(): AdminStatsStore {
  const stats = new Map<string, StatValue>();

  function define(fullName: string, kind: StatKind): StatValue {
    let stat = stats.get(fullName);
    if (stat === undefined) {
      stat = { kind, value: 0n, samples: 0n, used: false };
      stats.set(fullName, stat);
    }
    return stat;
  }

  /** The selected stats of these kinds, sorted by name. */
  function sortedOf(kinds: StatKind[], select: StatSelector): Array<[string, StatValue]> {
    return [...stats]
      .filter(([name, stat]) => kinds.includes(stat.kind) && select({ name, kind: stat.kind, used: stat.used }))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  return {
    define(fullName, kind) {
      define(fullName, kind);
    },
    add(fullName, delta) {
      const stat = stats.get(fullName);
      if (stat === undefined) return;
      stat.value += delta;
      stat.used = true;
      if (stat.kind === "histogram") stat.samples += 1n;
    },
    set(fullName, value) {
      const stat = stats.get(fullName);
      if (stat === undefined) return;
      stat.value = value;
      stat.used = true;
    },
    get(fullName) {
      return stats.get(fullName)?.value;
    },
    renderText(select = EVERY_STAT) {
      const lines = sortedOf(["counter", "gauge"], select).map(([name, stat]) => `${name}: ${stat.value}`);
      for (const [name, stat] of sortedOf(["histogram"], select)) {
        lines.push(stat.samples === 0n ? `${name}: No recorded values` : `${name}: count=${stat.samples} sum=${stat.value}`);
      }
      return lines.map((line) => line + "\n").join("");
    },
    renderJson(select = EVERY_STAT) {
      const entries = sortedOf(["counter", "gauge"], select).map(([name, stat]) => `{"name":${JSON.stringify(name)},"value":${stat.value}}`);
      return `{"stats":[${entries.join(",")}]}`;
    },
    renderPrometheus(select = EVERY_STAT) {
      const out: string[] = [];
      for (const kind of ["counter", "gauge", "histogram"] as const) {
        const families = new Map<string, Array<{ labels: string; stat: StatValue }>>();
        for (const [fullName, stat] of sortedOf([kind], select)) {
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

function sampleLines(metric: string, labels: string, stat: StatValue): string[] {
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
  const labels: string[] = [];
  const removed: Array<[number, number]> = [];
  for (const { tag, regex } of TAG_EXTRACTORS) {
    const match = regex.exec(fullName);
    if (match === null) continue;
    labels.push(`${tag}="${escapeLabelValue(match[2] ?? match[1])}"`);
    removed.push(match.indices![1]);
  }
  let name = fullName;
  // right to left, so that the positions still to cut stay valid
  for (const [start, end] of removed.sort(([a], [b]) => b - a)) name = name.slice(0, start) + name.slice(end);
  return { metric: "envoy_" + sanitize(name), labels: labels.join(",") };
}

/** Prometheus label values escape backslash, double quote and newline. */
function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (char) => (char === "\n" ? "\\n" : "\\" + char));
}

function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}
