// Creates examples/<name>/, a new network filter that builds, passes its tests and runs as it is:
// the templates of scripts/new-filter/ with the name put in.
//   npx tsx scripts/new-filter.ts my_filter      (make new-filter NAME=my_filter)
// Exit 0 once created; 1 with one line on stderr for a bad name or an existing folder.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TEMPLATES = join(ROOT, "scripts", "new-filter");

/**
 * A filter's name is its folder, its module (build/<name>.wasm), its root id and the prefix of
 * its metrics: lower-case words joined by single underscores, so that it is all four as it is.
 */
const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** Modules the Makefile builds from elsewhere than examples/<name>/: a filter of that name would clash. */
const TAKEN_MODULES: Record<string, string> = {
  main: "build/main.wasm is the connection logger's module (assembly/logger/)",
  debug: "build/debug.wasm is the connection logger's debug build",
};

/** Each template and the file it becomes in examples/<name>/. */
function filesOf(name: string): Array<[template: string, file: string]> {
  return [
    ["index.ts.template", "index.ts"],
    ["config.ts.template", "config.ts"],
    ["plugin.ts.template", "plugin.ts"],
    ["filter.test.ts.template", `${name}.test.ts`],
    ["envoy.yaml.template", "envoy.yaml"],
    ["README.md.template", "README.md"],
  ];
}

/** A bad NAME, said in one line. */
class NameError extends Error {}

function checkedName(name: string | undefined): string {
  if (name === undefined || name === "") throw new NameError("NAME is missing: make new-filter NAME=my_filter");
  if (!SNAKE_CASE.test(name)) {
    throw new NameError(`NAME=${name} is not a snake_case identifier (lower-case letters and digits, words joined by one _, a letter first), e.g. my_filter`);
  }
  const taken = TAKEN_MODULES[name];
  if (taken !== undefined) throw new NameError(`NAME=${name} is taken: ${taken}`);
  if (existsSync(join(ROOT, "examples", name))) throw new NameError(`NAME=${name}: examples/${name}/ exists already; pick another name or remove it`);
  return name;
}

/** my_filter → MyFilter: the prefix of the filter's class names. */
function className(name: string): string {
  return name.split("_").map((word) => word[0]!.toUpperCase() + word.slice(1)).join("");
}

function filled(template: string, name: string): string {
  const text = readFileSync(join(TEMPLATES, template), "utf8").replaceAll("{{name}}", name).replaceAll("{{Name}}", className(name));
  const left = /\{\{\w*\}\}/.exec(text);
  if (left !== null) throw new Error(`scripts/new-filter/${template}: unknown placeholder ${left[0]}`);
  return text;
}

function createFilter(name: string): string[] {
  const folder = join(ROOT, "examples", name);
  // Every file is filled before the folder is made: a broken template leaves nothing behind.
  const contents = filesOf(name).map(([template, file]) => [join(folder, file), filled(template, name)] as const);
  mkdirSync(folder);
  for (const [path, text] of contents) writeFileSync(path, text);
  return contents.map(([path]) => relative(ROOT, path));
}

function main(): number {
  let name: string;
  try {
    name = checkedName(process.argv[2]);
  } catch (error) {
    if (!(error instanceof NameError)) throw error;
    process.stderr.write(`new-filter: ${error.message}\n`);
    return 1;
  }
  for (const file of createFilter(name)) process.stdout.write(`created ${file}\n`);
  process.stdout.write(
    `next: make test FILTER=${name}   (builds build/${name}.wasm and runs its tests)\n` +
      `      make dev CONFIG=examples/${name}/envoy.yaml   (runs it, rebuilt and restarted on each save)\n`,
  );
  return 0;
}

process.exitCode = main();
