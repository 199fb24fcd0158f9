// Checks an Istio WasmPlugin for this plugin: Istio's CRD schema (@kubernetes-models/istio), no
// field the schema does not know (a typo Kubernetes would silently drop), a network filter
// pulled from an OCI registry, and the same root id and configuration as the Envoy config.
//   npx tsx scripts/lint-istio.ts [wasmplugin.yaml] [--envoy envoy/envoy.yaml]
// Exit 0 when valid, 1 with one line per issue, 2 on a usage error or unreadable file.

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { isMap, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import { WasmPlugin, type IWasmPlugin } from "@kubernetes-models/istio/extensions.istio.io/v1alpha1/WasmPlugin";
import { formatIssue, type ConfigIssue } from "../host/config/issues.ts";
import { loadEnvoyConfig } from "../host/config/load.ts";
import type { WasmFilterConfig } from "../host/config/model.ts";

const USAGE = `usage: npx tsx scripts/lint-istio.ts [wasmplugin.yaml] [--envoy FILE]
Checks an Istio WasmPlugin (default deploy/istio/wasmplugin.yaml) against Istio's CRD schema, and
that it loads this plugin as FILE (default envoy/envoy.yaml) does: type NETWORK, an oci:// url,
pluginName = root_id, pluginConfig = the plugin configuration's JSON.
Exit status: 0 valid, 1 issues found, 2 usage error or unreadable file.`;

type WasmPluginSpec = NonNullable<IWasmPlugin["spec"]>;

/** Every field of WasmPlugin.spec in the CRD (the type checks each name against the package). */
const SPEC_FIELDS: Array<keyof WasmPluginSpec> = [
  "failStrategy", "imagePullPolicy", "imagePullSecret", "match", "phase", "pluginConfig", "pluginName", "priority",
  "selector", "sha256", "targetRef", "targetRefs", "type", "url", "verificationKey", "vmConfig",
];

interface SchemaError {
  instancePath: string;
  message?: string;
  params?: { allowedValues?: string[] };
}

export class Linter {
  readonly issues: ConfigIssue[] = [];
  private readonly lines = new LineCounter();
  private readonly document: Document;

  constructor(private readonly file: string, text: string) {
    this.document = parseDocument(text, { lineCounter: this.lines, prettyErrors: false });
    for (const error of this.document.errors) {
      this.issues.push({ file, line: this.lines.linePos(error.pos[0]).line, path: "", message: `invalid YAML: ${error.message.split("\n")[0]}` });
    }
  }

  lint(envoyPlugin: WasmFilterConfig): void {
    if (this.issues.length > 0) return;
    const resource = this.document.toJS() as { kind?: unknown; spec?: Partial<WasmPluginSpec> } | null;
    if (resource?.kind !== WasmPlugin.kind) return this.report(["kind"], `must be ${WasmPlugin.kind}`);
    this.schema(resource);
    const spec = resource.spec ?? {};
    for (const field of Object.keys(spec)) {
      if (!(SPEC_FIELDS as string[]).includes(field)) this.report(["spec", field], `unknown field "${field}" in WasmPlugin.spec`);
    }
    if (spec.type !== "NETWORK") this.report(["spec", "type"], "must be NETWORK: the plugin is a network (L4) filter");
    if (typeof spec.url !== "string" || !spec.url.startsWith("oci://")) this.report(["spec", "url"], "must be an oci:// image reference (make oci builds the image)");
    if (spec.pluginName !== envoyPlugin.rootId) {
      this.report(["spec", "pluginName"], `must be the root id "${envoyPlugin.rootId}" (root_id in the Envoy config)`);
    }
    this.pluginConfig(spec.pluginConfig, envoyPlugin);
  }

  private schema(resource: object): void {
    try {
      new WasmPlugin(resource as IWasmPlugin).validate();
    } catch (error) {
      const errors = (error as { errors?: SchemaError[] }).errors;
      if (errors === undefined) throw error;
      for (const schemaError of errors) {
        const allowed = schemaError.params?.allowedValues;
        const path = schemaError.instancePath.split("/").filter((part) => part !== "");
        this.report(path, `${schemaError.message ?? "invalid"}${allowed ? ` (${allowed.join(", ")})` : ""}`);
      }
    }
  }

  /** The plugin must get what it gets in Envoy: Istio passes pluginConfig to it as JSON. */
  private pluginConfig(pluginConfig: unknown, envoyPlugin: WasmFilterConfig): void {
    const expected = envoyPlugin.configuration === "" ? {} : (JSON.parse(envoyPlugin.configuration) as Record<string, unknown>);
    const actual = (pluginConfig ?? {}) as Record<string, unknown>;
    for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
      if (!(key in actual)) this.report(["spec", "pluginConfig"], `missing key "${key}" of the Envoy config's plugin configuration`);
      else if (!(key in expected)) this.report(["spec", "pluginConfig", key], `key "${key}" is not in the Envoy config's plugin configuration`);
      else if (!isDeepStrictEqual(actual[key], expected[key])) {
        this.report(["spec", "pluginConfig", key], `${JSON.stringify(actual[key])} differs from the Envoy config's ${JSON.stringify(expected[key])}`);
      }
    }
  }

  private report(path: Array<string | number>, message: string): void {
    this.issues.push({ file: this.file, line: this.lineOf(path), path: path.join("."), message });
  }

  /** The line of the key or item at `path`, or of its nearest ancestor in the file. */
  private lineOf(path: Array<string | number>): number {
    for (let length = path.length; length > 0; length--) {
      const parent = length === 1 ? this.document.contents : this.document.getIn(path.slice(0, length - 1), true);
      const last = path[length - 1];
      const key = isMap(parent) ? parent.items.find((pair) => isScalar(pair.key) && pair.key.value === last)?.key : undefined;
      const node = (isScalar(key) ? key : this.document.getIn(path.slice(0, length), true)) as { range?: [number, number, number] } | undefined;
      if (node?.range) return this.lines.linePos(node.range[0]).line;
    }
    return 1;
  }
}

/** The first wasm filter of the Envoy config: the plugin the WasmPlugin deploys. */
export function envoyWasmPlugin(file: string): WasmFilterConfig {
  const config = loadEnvoyConfig(file);
  const plugin = config.listeners.flatMap((listener) => listener.filters).find((filter) => filter.kind === "wasm");
  if (plugin === undefined) throw new Error(`${file}: no wasm filter`);
  return plugin as WasmFilterConfig;
}

function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { envoy: { type: "string", default: "envoy/envoy.yaml" }, help: { type: "boolean", short: "h" } }, allowPositionals: true });
  } catch (error) {
    process.stderr.write(`${(error as Error).message.split("\n")[0]}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const file = parsed.positionals[0] ?? "deploy/istio/wasmplugin.yaml";
  let text: string;
  let envoyPlugin: WasmFilterConfig;
  try {
    text = readFileSync(file, "utf8");
    envoyPlugin = envoyWasmPlugin(parsed.values.envoy);
  } catch (error) {
    process.stderr.write(`${(error as Error).message.split("\n")[0]}\n`);
    return 2;
  }
  const linter = new Linter(file, text);
  linter.lint(envoyPlugin);
  if (linter.issues.length === 0) {
    process.stdout.write(`${file}: OK\n`);
    return 0;
  }
  for (const issue of linter.issues) process.stdout.write(`${formatIssue(issue)}\n`);
  return 1;
}

// Run as a command; imported (by its tests), it only defines the linter.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
