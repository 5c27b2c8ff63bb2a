import ts from "typescript";

/** Which generated file is checked: the tool itself, or its tests. */
export type SourceRole = "tool" | "tests";

const ALLOWED_IMPORTS: Record<SourceRole, ReadonlySet<string>> = {
  tool: new Set(["zod"]),
  tests: new Set(["bun:test", "fast-check", "./tool.ts"]),
};

// Names that reach the network, the process, the host or code from strings. The sandbox is the real wall;
// this filter turns the plain attempts into a message the model can act on before anything runs.
const FORBIDDEN_NAMES = new Set([
  "fetch", "Bun", "process", "require", "eval", "Function", "globalThis", "global", "self", "window",
  "WebSocket", "XMLHttpRequest", "EventSource", "Worker", "SharedWorker", "navigator", "Deno", "module",
  "__dirname", "__filename", "importScripts",
]);
const FORBIDDEN_PROPERTIES = new Set(["constructor", "__proto__", "prototype", "caller", "callee"]);
const SKIPPING_PROPERTIES = new Set(["skip", "only", "todo", "skipIf", "todoIf", "failing", "if"]);
const FORBIDDEN_DIRECTIVES = /@ts-(ignore|nocheck)\b/;

/**
 * Checks generated code on its syntax tree (TypeScript's own parser): what it may import, which globals it may
 * name, no code from strings, no skipped tests, no silenced type errors. Returns the problems, each a line the
 * model can act on; an empty list passes.
 */
export function checkStaticPolicy(code: string, role: SourceRole): string[] {
  const fileName = role === "tool" ? "tool.ts" : "tool.test.ts";
  const source = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const problems: string[] = [];
  const at = (node: ts.Node) => {
    const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
    return `${fileName}:${line + 1}:${character + 1}`;
  };
  const diagnostics = (source as unknown as { parseDiagnostics?: ts.Diagnostic[] }).parseDiagnostics ?? [];
  for (const diagnostic of diagnostics.slice(0, 5)) {
    const position = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    problems.push(`${fileName}:${position.line + 1}:${position.character + 1}: syntax error: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}`);
  }
  const allowed = ALLOWED_IMPORTS[role];
  let importsTool = false;
  let hasDefaultExport = false;

  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const specifier = ts.isStringLiteral(node.moduleSpecifier) ? node.moduleSpecifier.text : "(computed)";
      if (specifier === "./tool.ts") importsTool = true;
      if (!allowed.has(specifier)) {
        problems.push(`${at(node)}: imports ${JSON.stringify(specifier)}; ${fileName} may import only ${[...allowed].map((name) => JSON.stringify(name)).join(", ")}`);
      }
    } else if (ts.isImportEqualsDeclaration(node) || ts.isExternalModuleReference(node)) {
      problems.push(`${at(node)}: 'import … = require(…)' is not allowed; use an import declaration`);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      problems.push(`${at(node)}: dynamic import() is not allowed`);
    } else if (ts.isMetaProperty(node)) {
      problems.push(`${at(node)}: ${node.getText(source)} is not allowed`);
    } else if (ts.isIdentifier(node) && FORBIDDEN_NAMES.has(node.text) && isValueReference(node)) {
      problems.push(`${at(node)}: uses ${node.text}; generated code may not reach the network, the process, the host or code built from strings`);
    } else if (ts.isPropertyAccessExpression(node) && FORBIDDEN_PROPERTIES.has(node.name.text)) {
      problems.push(`${at(node)}: accesses .${node.name.text}, which can reach the Function constructor; it is not allowed`);
    } else if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression) && FORBIDDEN_PROPERTIES.has(node.argumentExpression.text)) {
      problems.push(`${at(node)}: accesses [${JSON.stringify(node.argumentExpression.text)}], which can reach the Function constructor; it is not allowed`);
    } else if (role === "tests" && ts.isPropertyAccessExpression(node) && SKIPPING_PROPERTIES.has(node.name.text)) {
      problems.push(`${at(node)}: .${node.name.text} skips or narrows tests; every test must run`);
    } else if (ts.isExportAssignment(node) && !node.isExportEquals) {
      hasDefaultExport = true;
    } else if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) && hasModifier(node, ts.SyntaxKind.DefaultKeyword)) {
      hasDefaultExport = true;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);

  for (const comment of commentsOf(source)) {
    const match = FORBIDDEN_DIRECTIVES.exec(comment.text);
    if (match) {
      const { line, character } = source.getLineAndCharacterOfPosition(comment.pos);
      problems.push(`${fileName}:${line + 1}:${character + 1}: ${match[0]} is not allowed; fix the type error instead`);
    }
  }
  if (role === "tool" && !hasDefaultExport) problems.push("tool.ts: no 'export default' function; export the tool as the default export");
  if (role === "tests" && !importsTool) problems.push('tool.test.ts: does not import "./tool.ts"; the tests must test the tool');
  return problems;
}

function hasModifier(node: ts.HasModifiers, kind: ts.SyntaxKind): boolean {
  return ts.getModifiers(node)?.some((modifier) => modifier.kind === kind) ?? false;
}

// An identifier naming a value: not a property name after a dot, an object key or a declaration of that name.
function isValueReference(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if ((ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent) || ts.isPropertyDeclaration(parent) || ts.isMethodDeclaration(parent)) && parent.name === node) {
    return false;
  }
  if (ts.isQualifiedName(parent) && parent.right === node) return false;
  if (ts.isBindingElement(parent) && parent.propertyName === node) return false;
  return true;
}

// Comments found from the parsed tree (every token's leading and trailing trivia), so a regular expression or
// a template the scanner alone would misread cannot hide one.
function commentsOf(source: ts.SourceFile): { pos: number; text: string }[] {
  const found = new Map<number, string>();
  const collect = (ranges: ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) found.set(range.pos, source.text.slice(range.pos, range.end));
  };
  const visit = (node: ts.Node) => {
    collect(ts.getLeadingCommentRanges(source.text, node.pos));
    collect(ts.getTrailingCommentRanges(source.text, node.end));
    for (const child of node.getChildren(source)) visit(child);
  };
  visit(source);
  return [...found].map(([pos, text]) => ({ pos, text }));
}
