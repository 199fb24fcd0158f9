// Checks a filter module's sources before asc compiles them, for the mistakes AssemblyScript
// compiles without a word (docs/toolchain.md, "What the build checks"):
//
// - a method `on…` of the connection or plugin class that is not a callback the dispatcher
//   calls (a misspelt `onDownstreamdata` is never called: `isDefined` is false for it);
// - a plugin class without the methods the dispatcher calls on it (configure, describe);
// - an entry file that does not re-export the kit's ABI exports (the module would build, then
//   fail to load in Envoy with "Missing or unknown Proxy-Wasm ABI version").
//
// The callbacks are read from the kit itself: each `isDefined(<connection>.onX)` or
// `isDefined(<plugin>.onX)` in assembly/kit/*.ts is one, and each other method the kit calls on a
// plugin is required. A callback added to the dispatcher is known here with no edit.
//
// Usage: node --import tsx scripts/check-filter.ts <entry.ts>. One line per problem, status 1.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type ts from "typescript";
import { typescript } from "./typescript.ts";

const KIT_FOLDER = fileURLToPath(new URL("../assembly/kit", import.meta.url));
const KIT_EXPORTS = path.join(KIT_FOLDER, "exports.ts");
/** The dispatcher's class, whose type arguments are the filter's plugin and connection classes. */
const DISPATCHER = "NetworkFilter";
const CALLBACK_NAME = /^on[A-Z]/;

type Role = "connection" | "plugin";

/** What the kit calls on each of the filter's two classes. */
interface KitContract {
  callbacks: Record<Role, Set<string>>;
  /** methods the kit calls on a plugin outside an isDefined: a plugin class must have them */
  requiredPluginMethods: Set<string>;
}

class CheckError extends Error {}

function parse(file: string): ts.SourceFile {
  return typescript.createSourceFile(file, readFileSync(file, "utf8"), typescript.ScriptTarget.Latest, true);
}

function visit(node: ts.Node, action: (node: ts.Node) => void): void {
  action(node);
  node.forEachChild((child) => visit(child, action));
}

/** `file:line` as the problem is shown, relative to the working directory. */
function where(node: ts.Node): string {
  const source = node.getSourceFile();
  const { line } = source.getLineAndCharacterOfPosition(node.getStart());
  return `${path.relative(process.cwd(), source.fileName)}:${line + 1}`;
}

/**
 * Whose method `<expression>.name` the kit means, from how it names the object: `connection`,
 * `plugin` or `root`, or a value of the dispatcher's type parameters (`changetype<C>(0)`, where
 * the dispatcher asks at compile time without an object at hand; NetworkFilter<P, C>).
 */
function roleOf(expression: ts.Expression): Role {
  const text = expression.getText();
  if (/^changetype<C>\(0\)$/.test(text)) return "connection";
  if (/^changetype<P>\(0\)$/.test(text)) return "plugin";
  if (/connection/i.test(text)) return "connection";
  if (/plugin|root/i.test(text)) return "plugin";
  throw new CheckError(`${where(expression)}: cannot tell whether ${text} is a connection or a plugin: name it connection or plugin (scripts/check-filter.ts reads the callbacks from these names)`);
}

function isIsDefinedCall(node: ts.Node): node is ts.CallExpression {
  return typescript.isCallExpression(node) && typescript.isIdentifier(node.expression) && node.expression.text === "isDefined";
}

/** Reads the callbacks and the plugin's required methods from the dispatcher's sources. */
export function readKitContract(kitFolder: string = KIT_FOLDER): KitContract {
  const contract: KitContract = { callbacks: { connection: new Set(), plugin: new Set() }, requiredPluginMethods: new Set() };
  const pluginCalls: string[] = [];
  for (const name of readdirSync(kitFolder).filter((entry) => entry.endsWith(".ts")).sort()) {
    visit(parse(path.join(kitFolder, name)), (node) => {
      if (isIsDefinedCall(node)) {
        const argument = node.arguments[0];
        if (argument !== undefined && typescript.isPropertyAccessExpression(argument) && CALLBACK_NAME.test(argument.name.text)) {
          contract.callbacks[roleOf(argument.expression)].add(argument.name.text);
        }
      }
      // `plugin.configure(...)`: a method the dispatcher calls on every plugin
      if (typescript.isCallExpression(node) && typescript.isPropertyAccessExpression(node.expression)
        && typescript.isIdentifier(node.expression.expression) && node.expression.expression.text === "plugin") {
        pluginCalls.push(node.expression.name.text);
      }
    });
  }
  for (const method of pluginCalls) {
    if (!contract.callbacks.plugin.has(method)) contract.requiredPluginMethods.add(method);
  }
  if (contract.callbacks.connection.size === 0) throw new CheckError(`${path.relative(process.cwd(), kitFolder)}: no isDefined(connection.onX) found: the connection callbacks cannot be read`);
  return contract;
}

/** The file a relative import names: `x.ts`, or `x/index.ts` for a folder (as asc resolves it). */
function resolveImport(from: string, specifier: string): string | null {
  if (!specifier.startsWith(".")) return null;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, "index.ts")]) {
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

function moduleSpecifier(statement: ts.Statement): string | null {
  if ((typescript.isImportDeclaration(statement) || typescript.isExportDeclaration(statement))
    && statement.moduleSpecifier !== undefined && typescript.isStringLiteral(statement.moduleSpecifier)) {
    return statement.moduleSpecifier.text;
  }
  return null;
}

/** The entry file and every file it reaches through relative imports and exports. */
function readModule(entry: string): ts.SourceFile[] {
  const files = new Map<string, ts.SourceFile>();
  const pending = [path.resolve(entry)];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.has(file)) continue;
    const source = parse(file);
    files.set(file, source);
    for (const statement of source.statements) {
      const specifier = moduleSpecifier(statement);
      const target = specifier === null ? null : resolveImport(file, specifier);
      if (target !== null) pending.push(target);
    }
  }
  return [...files.values()];
}

/** Whether `file` re-exports everything of the kit's exports module, directly or through files. */
function reExportsKitExports(file: string, seen: Set<string> = new Set()): boolean {
  if (file === KIT_EXPORTS) return true;
  if (seen.has(file)) return false;
  seen.add(file);
  return parse(file).statements.some((statement) => {
    if (!typescript.isExportDeclaration(statement) || statement.exportClause !== undefined) return false;
    const specifier = moduleSpecifier(statement);
    const target = specifier === null ? null : resolveImport(file, specifier);
    return target !== null && reExportsKitExports(target, seen);
  });
}

/** `new NetworkFilter<P, C>(...)`: the filter's plugin and connection class names. */
function findRegistration(files: ts.SourceFile[]): { plugin: string; connection: string; node: ts.Node } | null {
  for (const file of files) {
    let found: { plugin: string; connection: string; node: ts.Node } | null = null;
    visit(file, (node) => {
      if (found !== null || !typescript.isNewExpression(node) || !typescript.isIdentifier(node.expression) || node.expression.text !== DISPATCHER) return;
      const [plugin, connection] = node.typeArguments ?? [];
      if (plugin !== undefined && connection !== undefined) found = { plugin: plugin.getText(), connection: connection.getText(), node };
    });
    if (found !== null) return found;
  }
  return null;
}

function classesByName(files: ts.SourceFile[]): Map<string, ts.ClassDeclaration> {
  const classes = new Map<string, ts.ClassDeclaration>();
  for (const file of files) {
    visit(file, (node) => {
      if (typescript.isClassDeclaration(node) && node.name !== undefined && !classes.has(node.name.text)) classes.set(node.name.text, node);
    });
  }
  return classes;
}

/** The class and the classes it extends, as far as the module's files declare them. */
function classChain(name: string, classes: Map<string, ts.ClassDeclaration>): ts.ClassDeclaration[] {
  const chain: ts.ClassDeclaration[] = [];
  for (let current = classes.get(name); current !== undefined && !chain.includes(current);) {
    chain.push(current);
    const base = current.heritageClauses?.find((clause) => clause.token === typescript.SyntaxKind.ExtendsKeyword)?.types[0];
    current = base === undefined ? undefined : classes.get(base.expression.getText());
  }
  return chain;
}

function instanceMethods(chain: ts.ClassDeclaration[]): ts.MethodDeclaration[] {
  return chain.flatMap((declaration) => declaration.members.filter(typescript.isMethodDeclaration))
    .filter((method) => !(typescript.getCombinedModifierFlags(method) & typescript.ModifierFlags.Static));
}

function listed(names: Set<string>): string {
  return names.size === 0 ? "none" : [...names].join(", ");
}

/** The problems of the module whose entry file is `entry`, one line each; none when it is sound. */
export function checkFilter(entry: string, contract: KitContract = readKitContract()): string[] {
  const shownEntry = path.relative(process.cwd(), path.resolve(entry));
  if (!existsSync(entry)) return [`${shownEntry}: no such file`];
  const problems: string[] = [];
  const entryPath = path.resolve(entry);
  if (!reExportsKitExports(entryPath)) {
    let exportsPath = path.relative(path.dirname(entryPath), KIT_EXPORTS).replace(/\.ts$/, "");
    if (!exportsPath.startsWith(".")) exportsPath = `./${exportsPath}`;
    problems.push(`${shownEntry}: the module exports no proxy-wasm ABI: add export * from "${exportsPath}"`);
  }
  const files = readModule(entryPath);
  const registration = findRegistration(files);
  if (registration === null) {
    problems.push(`${shownEntry}: no filter is registered: add @global const networkFilter = new ${DISPATCHER}<Plugin, Connection>(["root_id"])`);
    return problems;
  }
  const classes = classesByName(files);
  const roles: [Role, string][] = [["connection", registration.connection], ["plugin", registration.plugin]];
  for (const [role, className] of roles) {
    const chain = classChain(className, classes);
    if (chain.length === 0) {
      problems.push(`${where(registration.node)}: ${className}, the ${role} class, is not declared in the module's files`);
      continue;
    }
    const methods = instanceMethods(chain);
    for (const method of methods) {
      const name = method.name.getText();
      if (CALLBACK_NAME.test(name) && !contract.callbacks[role].has(name)) {
        problems.push(`${where(method.name)}: ${name} is not a callback of a ${role}; the callbacks are: ${listed(contract.callbacks[role])}`);
      }
    }
    if (role === "plugin") {
      const names = new Set(methods.map((method) => method.name.getText()));
      const missing = [...contract.requiredPluginMethods].filter((name) => !names.has(name));
      if (missing.length > 0) {
        problems.push(`${where(chain[0].name ?? chain[0])}: ${className}, the plugin class, has no ${missing.join(", ")}: a plugin declares ${listed(contract.requiredPluginMethods)} (or the filter uses NoConfiguration)`);
      }
    }
  }
  return problems;
}

function main(entries: string[]): number {
  if (entries.length === 0) {
    console.error("usage: check-filter.ts <entry.ts>...");
    return 2;
  }
  try {
    const contract = readKitContract();
    const problems = entries.flatMap((entry) => checkFilter(entry, contract));
    for (const problem of problems) console.error(problem);
    return problems.length === 0 ? 0 : 1;
  } catch (error) {
    if (!(error instanceof CheckError)) throw error;
    console.error(error.message);
    return 1;
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
