// docs/kit-api.md, written from the kit's sources so that it cannot drift from them: every
// exported declaration of assembly/kit/ (what assembly/kit/index.ts exports, when that facade
// exists; otherwise every module but the ABI's exports.ts and imports.ts), with its signature
// as written and the first sentence of its /** */ comment. The TypeScript compiler only parses:
// AssemblyScript's types (u32, usize) are names to it, which is all a signature needs.
//   npx tsx scripts/kit-reference.ts            writes docs/kit-api.md (make docs)
//   npx tsx scripts/kit-reference.ts --check    exit 1 when docs/kit-api.md is not what it would write

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type ts from "typescript";
import { typescript } from "./typescript.ts";

const ROOT = new URL("..", import.meta.url).pathname;
export const KIT_FOLDER = join(ROOT, "assembly/kit");
export const KIT_API_MD = join(ROOT, "docs/kit-api.md");
/** The kit's modules that are the ABI itself, not an API a filter calls. */
const ABI_MODULES = new Set(["exports.ts", "imports.ts"]);
const FACADE = "index.ts";

/** One documented declaration: `signature` as the source writes it, `doc` its first sentence. */
interface Entry {
  signature: string;
  doc: string;
  members: Entry[];
}

interface ModuleReference {
  file: string;
  summary: string;
  entries: Entry[];
}

function parse(file: string): ts.SourceFile {
  return typescript.createSourceFile(file, readFileSync(join(KIT_FOLDER, file), "utf8"), typescript.ScriptTarget.ES2022, true);
}

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return typescript.canHaveModifiers(node) && (typescript.getModifiers(node) ?? []).some((modifier) => modifier.kind === kind);
}

/** The first sentence of the node's last /** *\/ comment, on one line; "" without one. */
function docOf(node: ts.Node, source: ts.SourceFile): string {
  const ranges = typescript.getLeadingCommentRanges(source.text, node.getFullStart()) ?? [];
  const jsdoc = ranges.map((range) => source.text.slice(range.pos, range.end)).filter((text) => text.startsWith("/**")).at(-1);
  if (jsdoc === undefined) return "";
  const text = jsdoc.slice(3, -2).split("\n").map((line) => line.replace(/^\s*\*?\s?/, "")).join(" ").replace(/\s+/g, " ").trim();
  return firstSentence(text);
}

/** Up to the first ". " outside backticks and parentheses, without the period. */
function firstSentence(text: string): string {
  let inCode = false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "`") inCode = !inCode;
    else if (!inCode && char === "(") depth++;
    else if (!inCode && char === ")") depth = Math.max(0, depth - 1);
    else if (!inCode && depth === 0 && char === "." && (i + 1 === text.length || text[i + 1] === " ")) return text.slice(0, i);
  }
  return text;
}

/** The declaration's text without its body, decorators or doc comment, on one line. */
function signatureOf(node: ts.Node, source: ts.SourceFile, body: ts.Node | undefined): string {
  const start = node.getStart(source);
  const end = body === undefined ? node.getEnd() : body.getStart(source);
  let text = source.text.slice(start, end);
  text = text.replace(/^(@[\w.]+(\([^)]*\))?\s+)+/, "").replace(/\bexport\s+/, "");
  return text.replace(/\s+/g, " ").replace(/\(\s+/g, "(").replace(/,\s*\)/g, ")").replace(/[;{\s]+$/, "").trim();
}

function isPublicMember(member: ts.ClassElement): boolean {
  if (hasModifier(member, typescript.SyntaxKind.PrivateKeyword) || hasModifier(member, typescript.SyntaxKind.ProtectedKeyword)) return false;
  return member.name === undefined || !typescript.isPrivateIdentifier(member.name);
}

function memberEntry(member: ts.ClassElement, source: ts.SourceFile): Entry | undefined {
  if (!isPublicMember(member)) return undefined;
  if (typescript.isMethodDeclaration(member) || typescript.isConstructorDeclaration(member) || typescript.isGetAccessor(member) || typescript.isSetAccessor(member)) {
    return { signature: signatureOf(member, source, member.body), doc: docOf(member, source), members: [] };
  }
  if (typescript.isPropertyDeclaration(member)) {
    return { signature: signatureOf(member, source, member.initializer).replace(/\s*=$/, ""), doc: docOf(member, source), members: [] };
  }
  return undefined;
}

/** The exported declarations of one module, in source order, by name. */
function declarationsOf(file: string): Map<string, Entry> {
  const source = parse(file);
  const entries = new Map<string, Entry>();
  for (const statement of source.statements) {
    if (!hasModifier(statement, typescript.SyntaxKind.ExportKeyword)) continue;
    if (typescript.isFunctionDeclaration(statement) && statement.name !== undefined) {
      entries.set(statement.name.text, { signature: signatureOf(statement, source, statement.body), doc: docOf(statement, source), members: [] });
    } else if (typescript.isClassDeclaration(statement) && statement.name !== undefined) {
      const members = statement.members.map((member) => memberEntry(member, source)).filter((entry): entry is Entry => entry !== undefined);
      const heritage = statement.members.length > 0 ? statement.members[0] : undefined;
      const signature = signatureOf(statement, source, heritage).replace(/\s*\{.*$/, "");
      entries.set(statement.name.text, { signature, doc: docOf(statement, source), members });
    } else if (typescript.isEnumDeclaration(statement)) {
      // an enum's members are its values: a filter writes them (JsonKind.String)
      const members = statement.members.map((member) => ({ signature: member.name.getText(source), doc: docOf(member, source), members: [] }));
      entries.set(statement.name.text, { signature: signatureOf(statement, source, undefined).replace(/\s*\{.*$/, ""), doc: docOf(statement, source), members });
    } else if (typescript.isInterfaceDeclaration(statement) || typescript.isTypeAliasDeclaration(statement)) {
      entries.set(statement.name.text, { signature: signatureOf(statement, source, undefined).replace(/\s*\{.*$/, ""), doc: docOf(statement, source), members: [] });
    } else if (typescript.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (!typescript.isIdentifier(declaration.name)) continue;
        const kind = statement.declarationList.flags & typescript.NodeFlags.Const ? "const" : "let";
        const type = declaration.type === undefined ? "" : `: ${declaration.type.getText(source)}`;
        entries.set(declaration.name.text, { signature: `${kind} ${declaration.name.text}${type}`, doc: docOf(statement, source), members: [] });
      }
    }
  }
  return entries;
}

/** The module's opening // comment, on one line: what the module is for. */
function summaryOf(file: string): string {
  const lines: string[] = [];
  for (const line of readFileSync(join(KIT_FOLDER, file), "utf8").split("\n")) {
    if (!line.startsWith("//")) break;
    const text = line.replace(/^\/\/\s?/, "");
    if (text === "") break;
    lines.push(text);
  }
  return lines.join(" ").trim();
}

/** Which names each module contributes: through the facade's re-exports, or every export. */
function exportedNames(): Map<string, Set<string> | "all"> {
  const modules = new Map<string, Set<string> | "all">();
  if (!existsSync(join(KIT_FOLDER, FACADE))) {
    for (const file of readdirSync(KIT_FOLDER).filter((name) => name.endsWith(".ts")).sort()) {
      if (!ABI_MODULES.has(file)) modules.set(file, "all");
    }
    return modules;
  }
  const facade = parse(FACADE);
  const own = declarationsOf(FACADE);
  if (own.size > 0) modules.set(FACADE, "all");
  for (const statement of facade.statements) {
    if (!typescript.isExportDeclaration(statement) || statement.moduleSpecifier === undefined || statement.isTypeOnly) continue;
    const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
    if (!specifier.startsWith("./")) continue;
    const file = `${basename(specifier).replace(/\.ts$/, "")}.ts`;
    if (statement.exportClause === undefined || typescript.isNamespaceExport(statement.exportClause)) {
      modules.set(file, "all");
    } else if (typescript.isNamedExports(statement.exportClause)) {
      const names = modules.get(file);
      const set = names instanceof Set ? names : new Set<string>();
      for (const element of statement.exportClause.elements) set.add((element.propertyName ?? element.name).text);
      if (names !== "all") modules.set(file, set);
    }
  }
  return modules;
}

export function kitReference(): ModuleReference[] {
  const references: ModuleReference[] = [];
  for (const [file, names] of [...exportedNames()].sort(([a], [b]) => a.localeCompare(b))) {
    const declared = declarationsOf(file);
    const entries = names === "all" ? [...declared.values()] : [...declared].filter(([name]) => names.has(name)).map(([, entry]) => entry);
    if (entries.length > 0) references.push({ file, summary: summaryOf(file), entries });
  }
  return references;
}

function entryLine(entry: Entry, indent: string): string {
  return `${indent}- \`${entry.signature}\`${entry.doc === "" ? "" : ` — ${entry.doc}`}`;
}

export function renderKitReference(): string {
  const facade = existsSync(join(KIT_FOLDER, FACADE));
  const out: string[] = [
    "# The kit's API",
    "",
    "<!-- Written by `make docs` (scripts/kit-reference.ts) from assembly/kit/; `make test` fails when it is stale. Do not edit. -->",
    "",
    facade
      ? "What `assembly/kit/index.ts` exports, module by module: each signature as the source writes it, and the first sentence of its doc comment."
      : "Every exported declaration of `assembly/kit/*.ts` (but the ABI's `exports.ts` and `imports.ts`), module by module: each signature as the source writes it, and the first sentence of its doc comment.",
    "[writing-a-filter.md](writing-a-filter.md) shows how they fit together.",
    "",
  ];
  for (const module of kitReference()) {
    out.push(`## ${module.file}`, "");
    if (module.summary !== "") out.push(module.summary, "");
    for (const entry of module.entries) {
      out.push(entryLine(entry, ""));
      for (const member of entry.members) out.push(entryLine(member, "  "));
    }
    out.push("");
  }
  return out.join("\n");
}

function main(): void {
  const text = renderKitReference();
  if (process.argv.includes("--check")) {
    const current = existsSync(KIT_API_MD) ? readFileSync(KIT_API_MD, "utf8") : "";
    if (current !== text) {
      console.error("docs/kit-api.md is stale: run make docs");
      process.exit(1);
    }
    console.log("docs/kit-api.md: up to date");
    return;
  }
  writeFileSync(KIT_API_MD, text);
  console.log("docs/kit-api.md: written");
}

if (process.argv[1] === new URL(import.meta.url).pathname) main();
