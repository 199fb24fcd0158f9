// Command line: checks Envoy configuration files as strictly as Envoy does at start-up.
//   npx tsx host/config/lint.ts [file ...]     (default envoy/envoy.yaml)
// Exit 0 when every file is valid, 1 when one has issues, 2 on a usage error or unreadable file.

import fs from "node:fs";
import { parseArgs } from "node:util";
import { validateEnvoyConfig } from "./validate.ts";
import { formatIssue } from "./issues.ts";

const USAGE = `usage: npx tsx host/config/lint.ts [file ...]
Checks Envoy v3 bootstrap files (default: envoy/envoy.yaml) against Envoy's API:
unknown fields, @type, enums, durations, validation rules and cross-references.
Exit status: 0 valid, 1 issues found, 2 usage error or unreadable file.`;

function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { help: { type: "boolean", short: "h" } }, allowPositionals: true });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const files = parsed.positionals.length > 0 ? parsed.positionals : ["envoy/envoy.yaml"];
  let status = 0;
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (error) {
      process.stderr.write(`${file}: cannot read: ${(error as Error).message}\n`);
      return 2;
    }
    const issues = validateEnvoyConfig(text, file);
    if (issues.length === 0) {
      process.stdout.write(`${file}: OK\n`);
    } else {
      for (const issue of issues) process.stdout.write(`${formatIssue(issue)}\n`);
      status = 1;
    }
  }
  return status;
}

process.exitCode = main(process.argv.slice(2));
