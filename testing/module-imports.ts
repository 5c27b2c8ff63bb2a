import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import ts from "typescript";

/**
 * Every relative module `file` (a path from `root`) names: static imports and exports (type-only too), `import("…")`
 * and `require("…")`, as paths from `root`.
 */
export function importsOf(file: string, root: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(root, file), "utf8"), ts.ScriptTarget.Latest, false);
  const specifiers: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && isLoader(node.expression)) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteral(argument)) specifiers.push(argument.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      specifiers.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers.filter((specifier) => specifier.startsWith(".")).map((specifier) => normalize(join(dirname(file), specifier)));
}

/** `import(…)` or `require(…)`. */
const isLoader = (callee: ts.Expression) => callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require");

/** Every `.ts` file `entry` (a path from `root`) reaches through `importsOf`, itself included, as paths from `root`. */
export function filesReachedFrom(entry: string, root: string): string[] {
  const reached = new Set([entry]);
  for (const file of reached) {
    for (const target of importsOf(file, root)) if (target.endsWith(".ts") && existsSync(join(root, target))) reached.add(target);
  }
  return [...reached];
}
