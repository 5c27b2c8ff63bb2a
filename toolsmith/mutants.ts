import type * as TS from "typescript";
import { ts } from "./typescript-api.ts";

/** One changed copy of tool.ts, with what was changed. */
export type Mutant = { description: string; code: string };

const OPERATOR_SWAPS: Partial<Record<TS.SyntaxKind, TS.SyntaxKind>> = {
  [ts.SyntaxKind.LessThanToken]: ts.SyntaxKind.LessThanEqualsToken,
  [ts.SyntaxKind.LessThanEqualsToken]: ts.SyntaxKind.LessThanToken,
  [ts.SyntaxKind.GreaterThanToken]: ts.SyntaxKind.GreaterThanEqualsToken,
  [ts.SyntaxKind.GreaterThanEqualsToken]: ts.SyntaxKind.GreaterThanToken,
  [ts.SyntaxKind.EqualsEqualsEqualsToken]: ts.SyntaxKind.ExclamationEqualsEqualsToken,
  [ts.SyntaxKind.ExclamationEqualsEqualsToken]: ts.SyntaxKind.EqualsEqualsEqualsToken,
  [ts.SyntaxKind.EqualsEqualsToken]: ts.SyntaxKind.ExclamationEqualsToken,
  [ts.SyntaxKind.ExclamationEqualsToken]: ts.SyntaxKind.EqualsEqualsToken,
  [ts.SyntaxKind.PlusToken]: ts.SyntaxKind.MinusToken,
  [ts.SyntaxKind.MinusToken]: ts.SyntaxKind.PlusToken,
  [ts.SyntaxKind.AsteriskToken]: ts.SyntaxKind.SlashToken,
  [ts.SyntaxKind.SlashToken]: ts.SyntaxKind.AsteriskToken,
  [ts.SyntaxKind.PercentToken]: ts.SyntaxKind.AsteriskToken,
  [ts.SyntaxKind.AmpersandAmpersandToken]: ts.SyntaxKind.BarBarToken,
  [ts.SyntaxKind.BarBarToken]: ts.SyntaxKind.AmpersandAmpersandToken,
  [ts.SyntaxKind.QuestionQuestionToken]: ts.SyntaxKind.BarBarToken,
};

type Edit = { start: number; end: number; text: string; description: string };

/** Where a node starts, as a line number. */
type LineOf = (node: TS.Node) => number;

/** The edits that change one expression: an operator swapped, a literal changed, a negation, a branch or a call dropped. */
function expressionEdits(node: TS.Node, source: TS.SourceFile, line: LineOf): Edit[] {
  const edits: Edit[] = [];
  if (ts.isBinaryExpression(node)) {
    const swap = OPERATOR_SWAPS[node.operatorToken.kind];
    if (swap !== undefined) {
      edits.push({
        start: node.operatorToken.getStart(source),
        end: node.operatorToken.end,
        text: ts.tokenToString(swap) ?? "",
        description: `line ${line(node)}: ${node.operatorToken.getText(source)} → ${ts.tokenToString(swap)}`,
      });
    }
  } else if (ts.isNumericLiteral(node)) {
    const value = Number(node.text);
    const replacement = value === 0 ? "1" : value === 1 ? "0" : String(value + 1);
    edits.push({ start: node.getStart(source), end: node.end, text: replacement, description: `line ${line(node)}: ${node.text} → ${replacement}` });
  } else if (node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword) {
    const replacement = node.kind === ts.SyntaxKind.TrueKeyword ? "false" : "true";
    edits.push({
      start: node.getStart(source),
      end: node.end,
      text: replacement,
      description: `line ${line(node)}: ${node.getText(source)} → ${replacement}`,
    });
  } else if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.ExclamationToken) {
    edits.push({ start: node.getStart(source), end: node.operand.getStart(source), text: "", description: `line ${line(node)}: ! removed` });
  } else if (ts.isConditionalExpression(node)) {
    for (const branch of [node.whenTrue, node.whenFalse]) {
      edits.push({
        start: node.getStart(source),
        end: node.end,
        text: `(${branch.getText(source)})`,
        description: `line ${line(node)}: condition always ${branch === node.whenTrue ? "true" : "false"}`,
      });
    }
  } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isPropertyAccessExpression(node.expression)) {
    const [argument] = node.arguments;
    if (argument && !ts.isSpreadElement(argument)) {
      edits.push({
        start: node.getStart(source),
        end: node.end,
        text: `(${argument.getText(source)})`,
        description: `line ${line(node)}: .${node.expression.name.text}(x) → x`,
      });
    }
  } else if (ts.isCallExpression(node) && node.arguments.length === 0 && ts.isPropertyAccessExpression(node.expression)) {
    edits.push({
      start: node.getStart(source),
      end: node.end,
      text: node.expression.expression.getText(source),
      description: `line ${line(node)}: .${node.expression.name.text}() dropped`,
    });
  } else if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
    edits.push({ start: node.getStart(source), end: node.end, text: "/$^/", description: `line ${line(node)}: regular expression matches nothing` });
  } else if (ts.isPropertyAccessExpression(node) && node.name.text === "length" && !ts.isCallExpression(node.parent)) {
    edits.push({
      start: node.getStart(source),
      end: node.end,
      text: `(${node.getText(source)} + 1)`,
      description: `line ${line(node)}: .length + 1`,
    });
  } else if (ts.isStringLiteral(node) && node.text !== "" && !ts.isImportDeclaration(node.parent) && !ts.isPropertyAssignment(node.parent)) {
    edits.push({ start: node.getStart(source), end: node.end, text: '""', description: `line ${line(node)}: string → ""` });
  }
  return edits;
}

/** The edits that change one statement: its condition made constant, or the statement dropped. */
function statementEdits(node: TS.Node, source: TS.SourceFile, line: LineOf): Edit[] {
  const edits: Edit[] = [];
  if (ts.isIfStatement(node) || ts.isWhileStatement(node)) {
    for (const value of ["true", "false"]) {
      edits.push({
        start: node.expression.getStart(source),
        end: node.expression.end,
        text: value,
        description: `line ${line(node)}: condition → ${value}`,
      });
    }
  }
  if ((ts.isExpressionStatement(node) || ts.isIfStatement(node) || ts.isReturnStatement(node)) && ts.isBlock(node.parent)) {
    edits.push({ start: node.getStart(source), end: node.end, text: ";", description: `line ${line(node)}: statement dropped` });
  }
  return edits;
}

/**
 * Mutants of a tool's source made from its syntax tree: flipped comparisons and logic, swapped arithmetic,
 * changed constants, negations removed, statements dropped. At most `max`, spread evenly over the file and in
 * a stable order, so the same code always gives the same mutants.
 */
export function makeMutants(code: string, max = 16): Mutant[] {
  const source = ts.createSourceFile("tool.ts", code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edits: Edit[] = [];
  const line = (node: TS.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const visit = (node: TS.Node) => {
    if (ts.isImportDeclaration(node) || ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return;
    edits.push(...expressionEdits(node, source, line), ...statementEdits(node, source, line));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return spread(edits, max).map((edit) => ({
    description: edit.description,
    code: code.slice(0, edit.start) + edit.text + code.slice(edit.end),
  }));
}

function spread<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  return Array.from({ length: max }, (_, index) => items[Math.floor((index * items.length) / max)]).filter((item): item is T => item !== undefined);
}
