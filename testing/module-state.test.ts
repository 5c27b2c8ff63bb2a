import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { productionFiles } from "./production-files.ts";

// docs/ARCHITECTURE.md: no module-level `let` (process singletons) in sandbox/, workspace/, mcp-client/: what a
// process learns as it runs lives in instances made where an entry point is assembled (the `Sandbox`, the
// `WorkspaceCopies`, the `McpHub`) and handed down. A module's constants stay; a module-level collection that the
// module fills as it runs (a cache, a registry) is state too, and is refused the same way.

const REPO = join(import.meta.dir, "..");
const STATELESS_FOLDERS = ["sandbox", "workspace", "mcp-client"];
const NOT_PRODUCTION = new Set(["testing", "bench", "ops", "demo", "docs", "node_modules", ".org", ".git", ".ci"]);
const COLLECTIONS = new Set(["Map", "Set", "WeakMap", "WeakSet", "Array"]);
const MUTATORS = new Set(["set", "add", "delete", "clear", "push", "pop", "shift", "unshift", "splice", "sort", "reverse", "fill"]);

/** A name bound at the module's top level to a new collection (`new Map()`, `[]`), with where it is bound. */
function topLevelCollections(statement: ts.Statement): { name: string; node: ts.Node }[] {
  if (!ts.isVariableStatement(statement)) return [];
  return statement.declarationList.declarations.flatMap((declaration) => {
    const { initializer } = declaration;
    if (!ts.isIdentifier(declaration.name) || initializer === undefined) return [];
    const made =
      (ts.isNewExpression(initializer) && ts.isIdentifier(initializer.expression) && COLLECTIONS.has(initializer.expression.text)) ||
      ts.isArrayLiteralExpression(initializer);
    return made ? [{ name: declaration.name.text, node: declaration }] : [];
  });
}

/** Where `source` keeps state in the module itself: a top-level `let` or `var`, or a top-level collection it changes. */
export function moduleState(file: string, source: string): string[] {
  const parsed = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const at = (node: ts.Node, what: string) => `${file}:${parsed.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${what}`;
  const found: string[] = [];
  const collections = new Map<string, ts.Node>();
  for (const statement of parsed.statements) {
    if (ts.isVariableStatement(statement) && (statement.declarationList.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)) !== ts.NodeFlags.Const) {
      const kind = statement.declarationList.flags & ts.NodeFlags.Let ? "let" : "var";
      const names = statement.declarationList.declarations.map((declaration) => declaration.name.getText(parsed)).join(", ");
      found.push(at(statement, `module-level ${kind} ${names}`));
    }
    for (const { name, node } of topLevelCollections(statement)) collections.set(name, node);
  }
  const changed = new Set<string>();
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && ts.isIdentifier(node.expression.expression)) {
      const name = node.expression.expression.text;
      if (collections.has(name) && MUTATORS.has(node.expression.name.text)) changed.add(name);
    }
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isElementAccessExpression(node.left)) {
      const target = node.left.expression;
      if (ts.isIdentifier(target) && collections.has(target.text)) changed.add(target.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(parsed);
  for (const name of changed) {
    const node = collections.get(name);
    if (node) found.push(at(node, `module-level collection ${name}, changed as the module runs`));
  }
  return found;
}

describe("no module state in sandbox/, workspace/, mcp-client/ (docs/ARCHITECTURE.md)", () => {
  test("finds what it looks for: a top-level let or var, a top-level collection filled as the module runs", () => {
    const source = [
      "let shared: number | undefined;",
      "export var count = 0;",
      "const cache = new Map<string, RegExp>();",
      "const seen: string[] = [];",
      "const FIXED = new Set([1, 2]);",
      "const LIMIT = 4;",
      "export function f(key: string) { let local = 1; cache.set(key, /x/); seen.push(key); return FIXED.has(local) ? LIMIT : 0; }",
      "class Holder { #items = new Map(); add() { this.#items.set(1, 2); } }",
    ].join("\n");
    expect(moduleState("x.ts", source)).toEqual([
      "x.ts:1: module-level let shared",
      "x.ts:2: module-level var count",
      "x.ts:3: module-level collection cache, changed as the module runs",
      "x.ts:4: module-level collection seen, changed as the module runs",
    ]);
  });

  test("no production file of those folders keeps state at its top level: it lives in instances made at assembly", () => {
    const files = productionFiles(NOT_PRODUCTION).filter((file) => STATELESS_FOLDERS.includes(file.split("/")[0] ?? ""));
    expect(files.length).toBeGreaterThan(40);
    expect(files.flatMap((file) => moduleState(file, readFileSync(join(REPO, file), "utf8")))).toEqual([]);
  });
});
