import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { roomCommands } from "../room/room-commands.ts";
import { productionFiles } from "./production-files.ts";

// Issue 78: the terminal, the web room and Telegram each read /mode, /undo, /wish and the rest themselves. Now one
// interpreter does (room/interpret-command.ts, over the list in room/room-commands.ts) and the front ends only render
// its answers. This test reads the front ends' production code with TypeScript's parser and fails on what parses a
// command there: a test of a text's leading `/`, a regex anchored on one, a literal that is a command (`"/undo"`), or a
// comparison or `case` on a command's name.

const REPO = join(import.meta.dir, "..");
const FRONT_ENDS = [/^cli\/chat\//, /^cli\/serve\/telegram-/, /^telegram\//, /^web\/(?!page\/)[^/]+$/];

/** Every name and alias of the list. */
const NAMES = new Set(roomCommands().flatMap((entry) => [entry.name, ...entry.aliases]));

/** An expression that holds a command's name as typed or read: `name`, `word`, `command`, `x.name`, `x.command`. */
const NAMING = /(^|\.)(name|word|command)$/;

/** Where `source` parses a slash command, as `line: what`. */
export function slashParsingIn(source: string, fileName = "file.ts"): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const at = (node: ts.Node, what: string) => found.push(`${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1}: ${what}`);
  // "/undo" anywhere it is compared; "undo" where it is compared with what holds a command's name.
  const slashed = (node: ts.Node) => ts.isStringLiteralLike(node) && node.text.startsWith("/") && NAMES.has(node.text.slice(1));
  const named = (node: ts.Node, other: ts.Node) => ts.isStringLiteralLike(node) && NAMES.has(node.text) && NAMING.test(other.getText(file));
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === "startsWith") {
      const [first] = node.arguments;
      if (first && ts.isStringLiteralLike(first) && first.text.startsWith("/")) at(node, `startsWith("${first.text}")`);
    }
    // `^\/(`, `^\/[a-z…]`, `^\/\w`: a command's word after a leading slash (a URL path such as `^\/assets\/` is none).
    if (ts.isRegularExpressionLiteral(node) && /^\/\^\\\/(\(|\[|\\w)/.test(node.text))
      at(node, `a regex of a command after a leading slash: ${node.text}`);
    if (ts.isCaseClause(node) && ts.isSwitchStatement(node.parent.parent)) {
      const subject = node.parent.parent.expression;
      if (slashed(node.expression) || named(node.expression, subject)) at(node, `case ${node.expression.getText(file)}`);
    }
    const comparison = [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken];
    if (ts.isBinaryExpression(node) && comparison.includes(node.operatorToken.kind)) {
      const { left, right } = node;
      if (slashed(left) || slashed(right) || named(left, right) || named(right, left)) at(node, `a comparison with a command: ${node.getText(file)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe("no front end parses a slash command (docs/ARCHITECTURE.md, the room's commands)", () => {
  test("the checker finds each way a front end could read a command itself", () => {
    const planted = [
      'if (text.startsWith("/")) run(text);',
      "const match = /^\\/([a-z]+)/.exec(text);",
      'if (line === "/undo") undo();',
      'switch (command.name) { case "wish": break; }',
      'if (name === "mode") setMode(rest);',
    ].join("\n");
    expect(slashParsingIn(planted)).toEqual([
      '1: startsWith("/")',
      "2: a regex of a command after a leading slash: /^\\/([a-z]+)/",
      '3: a comparison with a command: line === "/undo"',
      '4: case "wish"',
      '5: a comparison with a command: name === "mode"',
    ]);
    // Prose that names a command, and a command's name in other roles, are not parsing.
    const prose = 'const help = "type /help for the list, or /undo to take it back"; const path = "/tools";';
    expect(slashParsingIn(`${prose}\nif (event.type === "mode" || /^\\/assets\\//.test(path)) show(event);`)).toEqual([]);
  });

  test("the terminal, the web room's server and Telegram read no command themselves", () => {
    const files = productionFiles(new Set(["node_modules", ".git", ".org"])).filter((file) => FRONT_ENDS.some((front) => front.test(file)));
    expect(files).toContain("telegram/telegram-bridge.ts");
    expect(files).toContain("web/session-command-routes.ts");
    expect(files).toContain("cli/chat/chat-loop.ts");
    const parsing = files.flatMap((file) => slashParsingIn(readFileSync(join(REPO, file), "utf8"), file).map((where) => `${file}:${where}`));
    expect(parsing).toEqual([]);
  });
});
