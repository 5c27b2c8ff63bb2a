import ts from "typescript";

// docs/ARCHITECTURE.md: no production module keeps state at its top level. What a process learns as it runs lives in
// instances made where an entry point is assembled and handed down; constants stay.

// Collections a module could fill as it runs: bound at the top level they are state only when something changes them.
const COLLECTIONS = new Set([
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "Array",
  "Uint8Array",
  "Uint16Array",
  "Uint32Array",
  "Int8Array",
  "Int16Array",
  "Int32Array",
  "Float16Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
]);
const MUTATORS = new Set(["set", "add", "delete", "clear", "push", "pop", "shift", "unshift", "splice", "sort", "reverse", "fill", "copyWithin"]);
// Classes whose instances hold nothing a run changes: one at the top level is a constant.
const CONSTANT_CLASSES = new Set([
  "RegExp",
  "TextEncoder",
  "TextDecoder",
  "URL",
  "Error",
  "Intl.Collator",
  "Intl.Segmenter",
  "Intl.NumberFormat",
  "Intl.DateTimeFormat",
]);
const ASSIGNMENTS = new Set([
  ts.SyntaxKind.EqualsToken,
  ts.SyntaxKind.PlusEqualsToken,
  ts.SyntaxKind.MinusEqualsToken,
  ts.SyntaxKind.AsteriskEqualsToken,
  ts.SyntaxKind.SlashEqualsToken,
  ts.SyntaxKind.BarEqualsToken,
  ts.SyntaxKind.AmpersandEqualsToken,
  ts.SyntaxKind.QuestionQuestionEqualsToken,
  ts.SyntaxKind.BarBarEqualsToken,
  ts.SyntaxKind.AmpersandAmpersandEqualsToken,
]);

/** A name bound at the module's top level to a value a run could change: a collection or array (`collection`), an object literal. */
function topLevelValues(statement: ts.Statement): { name: string; node: ts.Node; collection: boolean }[] {
  if (!ts.isVariableStatement(statement)) return [];
  return statement.declarationList.declarations.flatMap((declaration) => {
    const { initializer } = declaration;
    if (!ts.isIdentifier(declaration.name) || initializer === undefined) return [];
    const value = unwrapped(initializer);
    const collection = (ts.isNewExpression(value) && COLLECTIONS.has(value.expression.getText())) || ts.isArrayLiteralExpression(value);
    return collection || ts.isObjectLiteralExpression(value) ? [{ name: declaration.name.text, node: declaration, collection }] : [];
  });
}

/** `x as T`, `x satisfies T` and `(x)` as `x`. */
function unwrapped(node: ts.Expression): ts.Expression {
  let inner = node;
  while (ts.isAsExpression(inner) || ts.isSatisfiesExpression(inner) || ts.isParenthesizedExpression(inner)) inner = inner.expression;
  return inner;
}

/** The top-level name an expression such as `cache.get(k).x` or `table[i]` reaches into, if any. */
function rootName(node: ts.Expression): string | undefined {
  const inner = unwrapped(node);
  if (ts.isIdentifier(inner)) return inner.text;
  if (ts.isPropertyAccessExpression(inner) || ts.isElementAccessExpression(inner)) return rootName(inner.expression);
  return undefined;
}

/** A module-level `new C(…)` of a class that is neither a collection nor one of the constant classes. */
function topLevelInstances(statement: ts.Statement): { name: string; node: ts.Node; made: string }[] {
  if (!ts.isVariableStatement(statement)) return [];
  return statement.declarationList.declarations.flatMap((declaration) => {
    const value = declaration.initializer === undefined ? undefined : unwrapped(declaration.initializer);
    if (value === undefined || !ts.isNewExpression(value)) return [];
    const made = value.expression.getText();
    return COLLECTIONS.has(made) || CONSTANT_CLASSES.has(made) ? [] : [{ name: declaration.name.getText(), node: declaration, made }];
  });
}

/** A module-level value made by a function called at once, which keeps a `let` or `var` of its own: state in a closure. */
function closureState(statement: ts.Statement): { name: string; node: ts.Node }[] {
  if (!ts.isVariableStatement(statement)) return [];
  return statement.declarationList.declarations.flatMap((declaration) => {
    const value = declaration.initializer === undefined ? undefined : unwrapped(declaration.initializer);
    if (value === undefined || !ts.isCallExpression(value)) return [];
    const callee = unwrapped(value.expression);
    if (!(ts.isArrowFunction(callee) || ts.isFunctionExpression(callee)) || !ts.isBlock(callee.body)) return [];
    const keeps = callee.body.statements.some(
      (inner) => ts.isVariableStatement(inner) && (inner.declarationList.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)) !== ts.NodeFlags.Const,
    );
    return keeps ? [{ name: declaration.name.getText(), node: declaration }] : [];
  });
}

/** A class's static field that a run can change: not readonly, or a readonly collection. */
function staticState(statement: ts.Statement): { name: string; node: ts.Node }[] {
  if (!ts.isClassDeclaration(statement)) return [];
  return statement.members.flatMap((member) => {
    if (!ts.isPropertyDeclaration(member)) return [];
    const modifiers = ts.getModifiers(member) ?? [];
    if (!modifiers.some((modifier) => modifier.kind === ts.SyntaxKind.StaticKeyword)) return [];
    const readonly = modifiers.some((modifier) => modifier.kind === ts.SyntaxKind.ReadonlyKeyword);
    const value = member.initializer === undefined ? undefined : unwrapped(member.initializer);
    const collection =
      value !== undefined && (ts.isNewExpression(value) || ts.isArrayLiteralExpression(value) || ts.isObjectLiteralExpression(value));
    return !readonly || collection ? [{ name: `${statement.name?.text ?? "(class)"}.${member.name.getText()}`, node: member }] : [];
  });
}

/**
 * Where `source` keeps state in the module itself: a top-level `let` or `var`; a top-level collection, array or object
 * that the module changes; a top-level instance of a class (a semaphore, a cache); a closure's `let` behind a value
 * made at load; a class's static field a run can change.
 */
export function moduleState(file: string, source: string): string[] {
  const options = { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone };
  return moduleStateOf(ts.createSourceFile(file, source, options, true));
}

/** {@link moduleState} of a file already parsed with its parent nodes set (docs/lint-figures.ts parses each file once). */
export function moduleStateOf(parsed: ts.SourceFile): string[] {
  const file = parsed.fileName;
  const at = (node: ts.Node, what: string) => `${file}:${parsed.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${what}`;
  const found: string[] = [];
  const values = new Map<string, ts.Node>();
  const collections = new Set<string>();
  for (const statement of parsed.statements) {
    if (ts.isVariableStatement(statement) && (statement.declarationList.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)) !== ts.NodeFlags.Const) {
      const kind = statement.declarationList.flags & ts.NodeFlags.Let ? "let" : "var";
      const names = statement.declarationList.declarations.map((declaration) => declaration.name.getText(parsed)).join(", ");
      found.push(at(statement, `module-level ${kind} ${names}`));
    }
    for (const { name, node, collection } of topLevelValues(statement)) {
      values.set(name, node);
      if (collection) collections.add(name);
    }
    for (const { name, node, made } of topLevelInstances(statement)) found.push(at(node, `module-level instance ${name} of ${made}`));
    for (const { name, node } of closureState(statement)) found.push(at(node, `module-level ${name} keeps a closure's let`));
    for (const { name, node } of staticState(statement)) found.push(at(node, `static field ${name}, changed as the program runs`));
  }
  const changed = new Set<string>();
  const change = (target: ts.Expression, whole: boolean) => {
    const name = rootName(target);
    // A name assigned whole is a const's (a compile error) or a local's; only what is reached into changes the value.
    if (name !== undefined && values.has(name) && !whole) changed.add(name);
  };
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && MUTATORS.has(node.expression.name.text)) {
      // Only a collection's own methods: an object literal's `clear` or `set` is a function it holds.
      const name = rootName(node.expression.expression);
      if (name !== undefined && collections.has(name)) changed.add(name);
    }
    if (ts.isCallExpression(node) && node.expression.getText() === "Object.assign" && node.arguments[0] !== undefined)
      change(node.arguments[0], false);
    if (ts.isBinaryExpression(node) && ASSIGNMENTS.has(node.operatorToken.kind)) change(node.left, ts.isIdentifier(unwrapped(node.left)));
    if (
      (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) &&
      [ts.SyntaxKind.PlusPlusToken, ts.SyntaxKind.MinusMinusToken].includes(node.operator)
    )
      change(node.operand, ts.isIdentifier(unwrapped(node.operand)));
    if (ts.isDeleteExpression(node)) change(node.expression, false);
    ts.forEachChild(node, visit);
  };
  // Only a top-level value can be changed: a file without one needs no walk.
  if (values.size > 0) visit(parsed);
  for (const name of changed) {
    const node = values.get(name);
    if (node) found.push(at(node, `module-level collection ${name}, changed as the module runs`));
  }
  return found;
}
