// A problem found in a configuration file, located by line and by its path in the YAML.

export interface ConfigIssue {
  file: string;
  /** 1-based line of the offending node (or of its nearest enclosing node) */
  line: number;
  /** e.g. static_resources.listeners[0].filter_chains[0].filters[1].typed_config.stat_prefix */
  path: string;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}:${issue.line}: ${issue.path || "(top level)"}: ${issue.message}`;
}

/** Thrown by loadEnvoyConfig; the message lists every issue, one per line. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.issues = issues;
  }
}

export function childPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return parent === "" ? key : `${parent}.${key}`;
}
