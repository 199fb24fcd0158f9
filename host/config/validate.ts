// validateEnvoyConfig: everything Envoy checks in a bootstrap file before it starts — the YAML
// itself, the proto schema with its validation rules, then the cross-references.

import { LineCounter, parseDocument } from "yaml";
import { envoySchema } from "./schema.ts";
import type { ConfigIssue } from "./issues.ts";
import { walkDocument, type WalkResult } from "./proto-walk.ts";
import { startupChecks } from "./startup-checks.ts";

const BOOTSTRAP = "envoy.config.bootstrap.v3.Bootstrap";

export type CheckedConfig = WalkResult;

/** Parses and checks the file; `issues` is empty when Envoy would accept it. */
export function checkEnvoyConfig(yamlText: string, fileName: string): CheckedConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(yamlText, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    const issues = document.errors.map((error) => ({
      file: fileName,
      line: lineCounter.linePos(error.pos[0]).line,
      path: "",
      message: `invalid YAML: ${error.message.split("\n")[0]}`,
    }));
    return { value: {}, lines: new Map(), issues };
  }
  const walked = walkDocument(envoySchema(), BOOTSTRAP, document, lineCounter, fileName);
  if (walked.issues.length > 0) return walked;
  return { ...walked, issues: startupChecks(walked.value, walked.lines, fileName) };
}

export function validateEnvoyConfig(yamlText: string, fileName: string): ConfigIssue[] {
  return checkEnvoyConfig(yamlText, fileName).issues;
}
