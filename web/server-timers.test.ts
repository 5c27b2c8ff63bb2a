import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

// Issue 78, item 3: the web server learns what changed from the workspace's event stream (web/view-updates.ts), not
// from a timer that re-reads files. A timer in web/'s server code must be named here with its reason.
const ALLOWED: Record<string, string> = {};

const TIMERS = new Set(["setInterval", "setTimeout"]);

/** The timers `source` starts: `setInterval(…)` or `setTimeout(…)`, called bare or on `globalThis`, by line. */
export function timersIn(file: string, source: string): string[] {
  const found: string[] = [];
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
      if (name && TIMERS.has(name)) found.push(`${file}:${sourceFile.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${name}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

test("finds a timer it looks for, and not a word in a comment or a string", () => {
  const planted = [
    "// setInterval(look, 1000) was how the views were told",
    'const said = "setTimeout(x)";',
    "export function watch(look: () => void) { const timer = setInterval(look, 1_000); globalThis.setTimeout(look, 5); return timer; }",
  ].join("\n");
  expect(timersIn("web/planted.ts", planted)).toEqual(["web/planted.ts:3 setInterval", "web/planted.ts:3 setTimeout"]);
});

test("the web server's code starts no timer but those allowed with a reason", () => {
  const dir = import.meta.dir;
  const files = readdirSync(dir).filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"));
  expect(files).toContain("view-updates.ts");
  const timers = files.flatMap((name) => timersIn(`web/${name}`, readFileSync(join(dir, name), "utf8")));
  expect(timers.filter((timer) => !Object.hasOwn(ALLOWED, timer.split(":")[0] ?? ""))).toEqual([]);
});
