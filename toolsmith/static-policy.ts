import type * as TS from "typescript";
import { ts } from "./typescript-api.ts";

/** Which generated file is checked: the tool itself, or its tests. */
export type SourceRole = "tool" | "tests";

const ALLOWED_IMPORTS: Record<SourceRole, ReadonlySet<string>> = {
  tool: new Set(["zod"]),
  tests: new Set(["bun:test", "fast-check", "./tool.ts"]),
};

// Names that reach the network, the process, the host or code from strings, each with what to write instead. The
// sandbox is the real wall, and the fixed runner makes code from strings unreachable at run time (computed keys
// included, see generated-tools/withhold-globals.ts); this filter turns the plain attempts into a message the model
// can act on before anything runs.
const HOST = "a tool gets everything it needs as its input and returns its result; it has no network, process, files or host";
const FROM_STRINGS = "code built from strings is not allowed; write the code itself (a function declaration or an arrow function)";
const FORBIDDEN_NAMES = new Map([
  ["fetch", HOST],
  ["Bun", HOST],
  ["process", HOST],
  ["require", "import what you need at the top of the file (zod in tool.ts)"],
  ["eval", FROM_STRINGS],
  ["Function", `${FROM_STRINGS}; for a type annotation write the signature, (x: number) => string`],
  ["ShadowRealm", FROM_STRINGS],
  ["globalThis", "use the globals by their own names (Math, JSON, Object, Array, Map, Set)"],
  ["global", "use the globals by their own names (Math, JSON, Object, Array, Map, Set)"],
  ["self", "use the globals by their own names (Math, JSON, Object, Array, Map, Set)"],
  ["window", "use the globals by their own names (Math, JSON, Object, Array, Map, Set)"],
  ["WebSocket", HOST],
  ["XMLHttpRequest", HOST],
  ["EventSource", HOST],
  ["Worker", HOST],
  ["SharedWorker", HOST],
  ["navigator", HOST],
  ["Deno", HOST],
  ["module", "export the tool with 'export default'"],
  ["__dirname", HOST],
  ["__filename", HOST],
  ["importScripts", HOST],
  ["Reflect", "use the plain operation: obj[key], key in obj, Object.keys(obj), fn(...args), new Cls(...args)"],
]);
// Properties that lead to the Function constructor or to an object's prototype, written out: a member, a destructured
// name, an object key; each with what to write instead. A key computed at run time may be anything: the fixed runner
// makes the constructors on the function prototypes throw, so no key leads to code built from strings.
const TYPE_TEST = "to tell what a value is, use typeof, Array.isArray(x) or x instanceof SomeClass";
const FORBIDDEN_PROPERTIES = new Map([
  ["constructor", `${TYPE_TEST}; to make an object, use a literal, a class with new, or Object.create(null)`],
  ["__proto__", "use Object.create(null) for a dictionary without a prototype, or a Map"],
  ["prototype", "write methods in a class body"],
  ["caller", "pass what the function needs as arguments"],
  ["callee", "name the function and call it by its name"],
  ["getOwnPropertyDescriptor", "read the property itself (obj.key, obj[key]) or test it with Object.hasOwn(obj, key)"],
  ["getOwnPropertyDescriptors", "copy with a spread ({ ...obj }) or Object.entries(obj)"],
  ["getPrototypeOf", TYPE_TEST],
  ["setPrototypeOf", "use a class with extends, or Object.create(null) for a dictionary"],
  ["__lookupGetter__", "read the property itself (obj.key, obj[key])"],
  ["__lookupSetter__", "assign the property itself (obj.key = value)"],
  ["__defineGetter__", "write a getter in a class or an object literal (get name() { … })"],
  ["__defineSetter__", "write a setter in a class or an object literal (set name(value) { … })"],
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
    return (
      `${fileName}:${position.line + 1}:${position.character + 1}: syntax error: ` + `${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}`
    );
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
  if (ts.isImportEqualsDeclaration(node) || ts.isExternalModuleReference(node))
    return "'import … = require(…)' is not allowed; use an import declaration";
  if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) return "dynamic import() is not allowed";
  if (ts.isMetaProperty(node)) return `${node.getText(source)} is not allowed`;
  if (ts.isIdentifier(node) && isValueReference(node)) {
    const instead = FORBIDDEN_NAMES.get(node.text);
    if (instead !== undefined) return `uses ${node.text}, which generated code may not use: ${instead}`;
  }
  // Keys computed at run time (counts[word], table[ch], xs[mid], grid[r][c]) are ordinary lookups: only a key written
  // out is judged here.
  const key = writtenKey(node);
  const instead = key === undefined ? undefined : FORBIDDEN_PROPERTIES.get(key.name);
  if (key !== undefined && instead !== undefined) return `${key.how}, which can reach the Function constructor or a prototype: ${instead}`;
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
  else if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) && hasModifier(node, ts.SyntaxKind.DefaultKeyword))
    walk.hasDefaultExport = true;
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
  if (!parent || !(ts.isIdentifier(node) || ts.isStringLiteralLike(node) || ts.isNumericLiteral(node) || ts.isComputedPropertyName(node)))
    return false;
  if (ts.isBindingElement(parent))
    return parent.propertyName === node || (parent.propertyName === undefined && parent.name === node && ts.isObjectBindingPattern(parent.parent));
  if (ts.isShorthandPropertyAssignment(parent)) return parent.name === node;
  return (
    (ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent) || ts.isGetAccessor(parent) || ts.isSetAccessor(parent)) &&
    parent.name === node
  );
}

function propertyNameText(node: TS.PropertyName): string | undefined {
  if (ts.isComputedPropertyName(node)) return isLiteralKey(node.expression) ? (node.expression as TS.StringLiteralLike).text : undefined;
  return (node as TS.Identifier | TS.StringLiteralLike | TS.NumericLiteral).text;
}

/** A key written out as a name or a literal: `.key`, `["key"]`, `{ key: … }`, `{ key }` destructured, and how. */
function writtenKey(node: TS.Node): { name: string; how: string } | undefined {
  if (ts.isPropertyAccessExpression(node)) return { name: node.name.text, how: `accesses .${node.name.text}` };
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) {
    return { name: node.argumentExpression.text, how: `accesses [${JSON.stringify(node.argumentExpression.text)}]` };
  }
  const name = isPropertyName(node) ? propertyNameText(node) : undefined;
  return name === undefined ? undefined : { name, how: `names the key ${JSON.stringify(name)}` };
}

/** The names tool.test.ts binds to what it imports from ./tool.ts. */
function toolImportNames(source: TS.SourceFile): Set<string> {
  const names = new Set<string>();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier) || statement.moduleSpecifier.text !== "./tool.ts")
      continue;
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
  if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "Date" && node.name.text === "now")
    return true;
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
