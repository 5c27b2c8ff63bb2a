import type * as TS from "typescript";
import { ts } from "./typescript-api.ts";

/** Which generated file is checked: the tool itself, or its tests. */
export type SourceRole = "tool" | "tests";

const ALLOWED_IMPORTS: Record<SourceRole, ReadonlySet<string>> = {
  tool: new Set(["zod"]),
  tests: new Set(["bun:test", "fast-check", "./tool.ts"]),
};

// Names that reach the network, the process, the host or code from strings. The sandbox is the real wall;
// this filter turns the plain attempts into a message the model can act on before anything runs.
const FORBIDDEN_NAMES = new Set([
  "fetch",
  "Bun",
  "process",
  "require",
  "eval",
  "Function",
  "globalThis",
  "global",
  "self",
  "window",
  "WebSocket",
  "XMLHttpRequest",
  "EventSource",
  "Worker",
  "SharedWorker",
  "navigator",
  "Deno",
  "module",
  "__dirname",
  "__filename",
  "importScripts",
  "Reflect",
]);
// Properties that lead to the Function constructor or to an object's prototype, by any spelling: a member, a
// destructured name, an object key.
const FORBIDDEN_PROPERTIES = new Set([
  "constructor",
  "__proto__",
  "prototype",
  "caller",
  "callee",
  "getOwnPropertyDescriptor",
  "getOwnPropertyDescriptors",
  "getPrototypeOf",
  "setPrototypeOf",
  "__lookupGetter__",
  "__lookupSetter__",
  "__defineGetter__",
  "__defineSetter__",
]);
const SKIPPING_PROPERTIES = new Set(["skip", "only", "todo", "skipIf", "todoIf", "failing", "if"]);
const FORBIDDEN_DIRECTIVES = /@ts-(ignore|nocheck|expect-error)\b/;
// Tests judge the tool by what it returns. What else they could look at tells the tool from a changed copy of it
// without asserting anything: where the code runs (stack traces), its source text, files, the clock.
const TEST_STACK_PROPERTIES = new Set(["stack", "captureStackTrace", "prepareStackTrace", "stackTraceLimit"]);
// A tool has no use for the call stack's frames (a frame can hand out the function or object it runs).
const TOOL_STACK_PROPERTIES = new Set(["captureStackTrace", "prepareStackTrace"]);
const TEST_CLOCK_NAMES = new Set(["performance", "Temporal"]);
const COERCING_METHODS = new Set(["toString", "toLocaleString", "valueOf", "toJSON"]);

/** What one walk of a source file knows: the file, its role, and what the walk has seen so far. */
type PolicyWalk = {
  source: TS.SourceFile;
  fileName: string;
  role: SourceRole;
  allowed: ReadonlySet<string>;
  numeric: ReturnType<typeof numericNames>;
  toolBindings: Set<string>;
  problems: string[];
  importsTool: boolean;
  hasDefaultExport: boolean;
};

/**
 * Checks generated code on its syntax tree (TypeScript's own parser): what it may import, which globals it may
 * name, no code from strings, no skipped tests, no silenced type errors. Returns the problems, each a line the
 * model can act on; an empty list passes.
 */
export function checkStaticPolicy(code: string, role: SourceRole): string[] {
  const fileName = role === "tool" ? "tool.ts" : "tool.test.ts";
  const source = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const walk: PolicyWalk = {
    source,
    fileName,
    role,
    allowed: ALLOWED_IMPORTS[role],
    numeric: numericNames(source),
    toolBindings: role === "tests" ? toolImportNames(source) : new Set<string>(),
    problems: syntaxProblems(source, fileName),
    importsTool: false,
    hasDefaultExport: false,
  };
  const visit = (node: TS.Node) => {
    const problem = nodeProblem(node, walk);
    if (problem !== undefined) walk.problems.push(`${positionOf(source, fileName, node)}: ${problem}`);
    ts.forEachChild(node, visit);
  };
  visit(source);
  for (const comment of commentsOf(source)) {
    const match = FORBIDDEN_DIRECTIVES.exec(comment.text);
    if (match) {
      const { line, character } = source.getLineAndCharacterOfPosition(comment.pos);
      walk.problems.push(`${fileName}:${line + 1}:${character + 1}: ${match[0]} is not allowed; fix the type error instead`);
    }
  }
  if (role === "tool" && !walk.hasDefaultExport) walk.problems.push("tool.ts: no 'export default' function; export the tool as the default export");
  if (role === "tests" && !walk.importsTool) walk.problems.push('tool.test.ts: does not import "./tool.ts"; the tests must test the tool');
  return walk.problems;
}

/** `file:line:column` of a node, as an editor takes it. */
function positionOf(source: TS.SourceFile, fileName: string, node: TS.Node): string {
  const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
  return `${fileName}:${line + 1}:${character + 1}`;
}

/** The parser's own complaints (the first five): code that does not parse is judged on no further rule. */
function syntaxProblems(source: TS.SourceFile, fileName: string): string[] {
  const diagnostics = (source as unknown as { parseDiagnostics?: TS.Diagnostic[] }).parseDiagnostics ?? [];
  return diagnostics.slice(0, 5).map((diagnostic) => {
    const position = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    return `${fileName}:${position.line + 1}:${position.character + 1}: syntax error: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}`;
  });
}

/** What is wrong with code reaching outside the tool: imports, forbidden globals and keys, computed keys. */
function reachProblem(node: TS.Node, walk: PolicyWalk): string | undefined {
  const { source, fileName, allowed } = walk;
  if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
    const specifier = ts.isStringLiteral(node.moduleSpecifier) ? node.moduleSpecifier.text : "(computed)";
    if (specifier === "./tool.ts") walk.importsTool = true;
    if (allowed.has(specifier)) return undefined;
    return `imports ${JSON.stringify(specifier)}; ${fileName} may import only ${[...allowed].map((name) => JSON.stringify(name)).join(", ")}`;
  }
  if (ts.isImportEqualsDeclaration(node) || ts.isExternalModuleReference(node)) return "'import … = require(…)' is not allowed; use an import declaration";
  if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) return "dynamic import() is not allowed";
  if (ts.isMetaProperty(node)) return `${node.getText(source)} is not allowed`;
  if (ts.isIdentifier(node) && FORBIDDEN_NAMES.has(node.text) && isValueReference(node)) {
    return `uses ${node.text}; generated code may not reach the network, the process, the host or code built from strings`;
  }
  if (ts.isPropertyAccessExpression(node) && FORBIDDEN_PROPERTIES.has(node.name.text)) {
    return `accesses .${node.name.text}, which can reach the Function constructor; it is not allowed`;
  }
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression) && FORBIDDEN_PROPERTIES.has(node.argumentExpression.text)) {
    return `accesses [${JSON.stringify(node.argumentExpression.text)}], which can reach the Function constructor; it is not allowed`;
  }
  if (ts.isElementAccessExpression(node) && !isLiteralKey(node.argumentExpression) && !isNumeric(node.argumentExpression, walk.numeric)) {
    return `[${node.argumentExpression.getText(source).slice(0, 40)}] is a computed key that is not a literal or plainly a number; index with a number (xs[i] where i only ever holds numbers, xs.at(i), text.charAt(i)) and look up keys in a Map`;
  }
  if (isPropertyName(node) && FORBIDDEN_PROPERTIES.has(propertyNameText(node) ?? "")) {
    return `names the key ${JSON.stringify(propertyNameText(node))}, which can reach the Function constructor; it is not allowed`;
  }
  if (ts.isComputedPropertyName(node) && !isLiteralKey(node.expression) && isDestructuring(node.parent.parent))
    return "destructures a computed key; name the properties you read";
  return undefined;
}

/** What is wrong with how a tool or its tests look at themselves: stacks, the clock, the tool's source, skips. */
function honestyProblem(node: TS.Node, walk: PolicyWalk): string | undefined {
  const { source, role } = walk;
  if (role === "tool" && isStackProperty(node, TOOL_STACK_PROPERTIES)) {
    return `${node.getText(source).slice(0, 40)} hands out the frames of the call stack; it is not allowed`;
  }
  if (role === "tests" && isStackProperty(node, TEST_STACK_PROPERTIES)) {
    return `reads a stack trace (${node.getText(source).slice(0, 40)}); tests may not look at where the code runs, only at what the tool returns`;
  }
  if (role === "tests" && isClock(node))
    return `reads the clock (${node.getText(source).slice(0, 40)}); tests may not time the tool, only check what it returns`;
  if (ts.isIdentifier(node) && walk.toolBindings.has(node.text) && isValueReference(node) && !isCallOfTool(node)) {
    return `uses ${node.text} other than by calling it; call the tool (${node.text}(input)) and assert on what it returns, never on its source text`;
  }
  if (role === "tests" && ts.isPropertyAccessExpression(node) && SKIPPING_PROPERTIES.has(node.name.text))
    return `.${node.name.text} skips or narrows tests; every test must run`;
  return undefined;
}

/** One node's problem, if any (the first rule that matches, as one chain); notes a default export on the way. */
function nodeProblem(node: TS.Node, walk: PolicyWalk): string | undefined {
  const problem = reachProblem(node, walk) ?? honestyProblem(node, walk);
  if (problem !== undefined) return problem;
  if (ts.isExportAssignment(node) && !node.isExportEquals) walk.hasDefaultExport = true;
  else if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) && hasModifier(node, ts.SyntaxKind.DefaultKeyword)) walk.hasDefaultExport = true;
  return undefined;
}

function hasModifier(node: TS.HasModifiers, kind: TS.SyntaxKind): boolean {
  return ts.getModifiers(node)?.some((modifier) => modifier.kind === kind) ?? false;
}

// An identifier naming a value: not a property name after a dot, an object key or a declaration of that name.
function isValueReference(node: TS.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if (
    (ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent) || ts.isPropertyDeclaration(parent) || ts.isMethodDeclaration(parent)) &&
    parent.name === node
  ) {
    return false;
  }
  if (ts.isQualifiedName(parent) && parent.right === node) return false;
  if (ts.isBindingElement(parent) && parent.propertyName === node) return false;
  return true;
}

const isLiteralKey = (node: TS.Expression) => ts.isStringLiteralLike(node) || ts.isNumericLiteral(node);

// A key written as a name or literal in an object literal, a binding pattern, a class or an object type.
function isPropertyName(node: TS.Node): node is TS.PropertyName {
  const parent = node.parent;
  if (!parent || !(ts.isIdentifier(node) || ts.isStringLiteralLike(node) || ts.isNumericLiteral(node) || ts.isComputedPropertyName(node))) return false;
  if (ts.isBindingElement(parent))
    return parent.propertyName === node || (parent.propertyName === undefined && parent.name === node && ts.isObjectBindingPattern(parent.parent));
  if (ts.isShorthandPropertyAssignment(parent)) return parent.name === node;
  return (ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent) || ts.isGetAccessor(parent) || ts.isSetAccessor(parent)) && parent.name === node;
}

function propertyNameText(node: TS.PropertyName): string | undefined {
  if (ts.isComputedPropertyName(node)) return isLiteralKey(node.expression) ? (node.expression as TS.StringLiteralLike).text : undefined;
  return (node as TS.Identifier | TS.StringLiteralLike | TS.NumericLiteral).text;
}

// A binding pattern, or an object or array literal that is assigned to (`({ a } = value)`, `for ([a] of xs)`).
function isDestructuring(node: TS.Node | undefined): boolean {
  if (!node) return false;
  if (ts.isObjectBindingPattern(node) || ts.isArrayBindingPattern(node)) return true;
  let current: TS.Node = node;
  while (
    ts.isObjectLiteralExpression(current) ||
    ts.isArrayLiteralExpression(current) ||
    ts.isPropertyAssignment(current) ||
    ts.isShorthandPropertyAssignment(current) ||
    ts.isSpreadElement(current) ||
    ts.isSpreadAssignment(current) ||
    ts.isParenthesizedExpression(current)
  ) {
    const parent: TS.Node = current.parent;
    if (ts.isBinaryExpression(parent) && parent.left === current && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) return true;
    if ((ts.isForOfStatement(parent) || ts.isForInStatement(parent)) && parent.initializer === current) return true;
    current = parent;
  }
  return false;
}

const NUMERIC_OPERATORS = new Set([
  ts.SyntaxKind.MinusToken,
  ts.SyntaxKind.AsteriskToken,
  ts.SyntaxKind.SlashToken,
  ts.SyntaxKind.PercentToken,
  ts.SyntaxKind.AsteriskAsteriskToken,
  ts.SyntaxKind.BarToken,
  ts.SyntaxKind.AmpersandToken,
  ts.SyntaxKind.CaretToken,
  ts.SyntaxKind.LessThanLessThanToken,
  ts.SyntaxKind.GreaterThanGreaterThanToken,
  ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken,
]);
const NUMERIC_ASSIGNMENTS = new Set([
  ts.SyntaxKind.MinusEqualsToken,
  ts.SyntaxKind.AsteriskEqualsToken,
  ts.SyntaxKind.SlashEqualsToken,
  ts.SyntaxKind.PercentEqualsToken,
  ts.SyntaxKind.AsteriskAsteriskEqualsToken,
  ts.SyntaxKind.BarEqualsToken,
  ts.SyntaxKind.AmpersandEqualsToken,
  ts.SyntaxKind.CaretEqualsToken,
  ts.SyntaxKind.LessThanLessThanEqualsToken,
  ts.SyntaxKind.GreaterThanGreaterThanEqualsToken,
  ts.SyntaxKind.GreaterThanGreaterThanGreaterThanEqualsToken,
]);

/** An expression that yields a number whatever its operands hold (or a name that only ever holds such numbers). */
function isNumeric(node: TS.Expression, numeric: ReadonlySet<string>): boolean {
  if (ts.isNumericLiteral(node) || ts.isBigIntLiteral(node)) return true;
  if (ts.isParenthesizedExpression(node) || ts.isNonNullExpression(node)) return isNumeric(node.expression, numeric);
  if (ts.isIdentifier(node)) return numeric.has(node.text);
  if (ts.isPrefixUnaryExpression(node)) return node.operator !== ts.SyntaxKind.ExclamationToken;
  if (ts.isPostfixUnaryExpression(node)) return true;
  if (ts.isConditionalExpression(node)) return isNumeric(node.whenTrue, numeric) && isNumeric(node.whenFalse, numeric);
  if (ts.isBinaryExpression(node)) {
    const operator = node.operatorToken.kind;
    if (NUMERIC_OPERATORS.has(operator) || NUMERIC_ASSIGNMENTS.has(operator)) return true;
    if (operator === ts.SyntaxKind.PlusToken) return isNumeric(node.left, numeric) && isNumeric(node.right, numeric);
  }
  return false;
}

/**
 * Names declared only with `let`/`const`/`var` whose initial value and every later assignment are numbers by
 * `isNumeric` (a loop counter, `let right = text.length - 1`), found to a fixed point; scopes are not told apart,
 * so one non-numeric use of a name anywhere rules it out.
 */
function numericNames(source: TS.SourceFile): Set<string> {
  const values = new Map<string, TS.Expression[]>();
  const ruledOut = new Set<string>();
  const visit = (node: TS.Node) => {
    if (ts.isIdentifier(node)) {
      const parent = node.parent;
      const name = node.text;
      const add = (value: TS.Expression) => values.set(name, [...(values.get(name) ?? []), value]);
      if (ts.isVariableDeclaration(parent) && parent.name === node) {
        // A loop's `for (const k of …)` / `in` and a `catch (k)` take values from elsewhere.
        const loopHead =
          ts.isVariableDeclarationList(parent.parent) && (ts.isForOfStatement(parent.parent.parent) || ts.isForInStatement(parent.parent.parent));
        if (loopHead || ts.isCatchClause(parent.parent)) ruledOut.add(name);
        else if (parent.initializer) add(parent.initializer);
        else values.set(name, values.get(name) ?? []);
      } else if (ts.isBinaryExpression(parent) && parent.left === node && isAssignment(parent.operatorToken.kind)) {
        if (!NUMERIC_ASSIGNMENTS.has(parent.operatorToken.kind)) add(parent.right);
      } else if (
        ts.isParameter(parent) ||
        ts.isBindingElement(parent) ||
        ts.isFunctionDeclaration(parent) ||
        ts.isClassDeclaration(parent) ||
        ts.isFunctionExpression(parent) ||
        ts.isClassExpression(parent) ||
        ts.isImportClause(parent) ||
        ts.isImportSpecifier(parent) ||
        ts.isNamespaceImport(parent) ||
        ts.isEnumDeclaration(parent) ||
        ((ts.isForOfStatement(parent) || ts.isForInStatement(parent)) && parent.initializer === node) ||
        isDestructuring(parent) ||
        (ts.isShorthandPropertyAssignment(parent) && isDestructuring(parent.parent))
      ) {
        ruledOut.add(name);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  const numeric = new Set([...values.keys()].filter((name) => !ruledOut.has(name)));
  for (let changed = true; changed; ) {
    changed = false;
    for (const name of numeric) {
      if (!(values.get(name) ?? []).every((value) => isNumeric(value, numeric))) {
        numeric.delete(name);
        changed = true;
      }
    }
  }
  return numeric;
}

/** The names tool.test.ts binds to what it imports from ./tool.ts. */
function toolImportNames(source: TS.SourceFile): Set<string> {
  const names = new Set<string>();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier) || statement.moduleSpecifier.text !== "./tool.ts") continue;
    const clause = statement.importClause;
    if (clause?.name) names.add(clause.name.text);
    const bindings = clause?.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
    if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) names.add(element.name.text);
  }
  return names;
}

// The tool called (`run(x)`, `new Run(x)`, `ns.run(x)`), its type (`typeof run`), or its import: never a value to coerce.
function isCallOfTool(node: TS.Identifier): boolean {
  const parent = node.parent;
  if (ts.isImportClause(parent) || ts.isImportSpecifier(parent) || ts.isNamespaceImport(parent) || ts.isTypeQueryNode(parent)) return true;
  if ((ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.expression === node) return true;
  if (ts.isTypeOfExpression(parent)) return true;
  return (
    ts.isPropertyAccessExpression(parent) &&
    parent.expression === node &&
    !COERCING_METHODS.has(parent.name.text) &&
    ts.isCallExpression(parent.parent) &&
    parent.parent.expression === parent
  );
}

function isStackProperty(node: TS.Node, names: ReadonlySet<string>): boolean {
  if (ts.isPropertyAccessExpression(node)) return names.has(node.name.text);
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) return names.has(node.argumentExpression.text);
  return isPropertyName(node) && names.has(propertyNameText(node) ?? "");
}

function isClock(node: TS.Node): boolean {
  if (ts.isIdentifier(node) && TEST_CLOCK_NAMES.has(node.text) && isValueReference(node)) return true;
  if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "Date" && node.name.text === "now") return true;
  // `new Date()` and `Date()` read the clock; `new Date(0)` does not.
  return (
    (ts.isNewExpression(node) || ts.isCallExpression(node)) &&
    ts.isIdentifier(node.expression) &&
    node.expression.text === "Date" &&
    (node.arguments?.length ?? 0) === 0
  );
}

// Comments found from the parsed tree (every token's leading and trailing trivia), so a regular expression or
// a template the scanner alone would misread cannot hide one.
function commentsOf(source: TS.SourceFile): { pos: number; text: string }[] {
  const found = new Map<number, string>();
  const collect = (ranges: TS.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) found.set(range.pos, source.text.slice(range.pos, range.end));
  };
  const visit = (node: TS.Node) => {
    collect(ts.getLeadingCommentRanges(source.text, node.pos));
    collect(ts.getTrailingCommentRanges(source.text, node.end));
    for (const child of node.getChildren(source)) visit(child);
  };
  visit(source);
  return [...found].map(([pos, text]) => ({ pos, text }));
}

function isAssignment(kind: TS.SyntaxKind): boolean {
  return kind >= ts.SyntaxKind.FirstAssignment && kind <= ts.SyntaxKind.LastAssignment;
}
