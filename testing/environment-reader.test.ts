import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { productionFiles } from "./production-files.ts";

// docs/ARCHITECTURE.md: config/ is the only reader of the environment (and main.ts, the entry, may hand it to the
// config loader): every other part is given the values it needs. Tests and the fixtures of testing/ and bench/ set up
// the environments of the processes they start, from outside the code under test.

const REPO = join(import.meta.dir, "..");
const NOT_PRODUCTION = new Set(["testing", "bench", "ops", "demo", "docs", "node_modules", ".org", ".git", ".ci"]);
const READERS = (file: string) => file.startsWith("config/") || file === "main.ts";

/**
 * Whether `source` could read it at all: each read below spells `env`, as a name or a string, or through a backslash
 * (a `\u` escape in a name; in a string any escape but of a quote, a backslash or a control character). Only those
 * files are parsed: two fifths of them.
 */
const MAY_NAME_ENV = /env|\\(?![bfnrtv\\'"`$])/;

/** Where `source` reads the environment itself: `process.env`, `process["env"]`, `Bun.env`, `import.meta.env`, `{ env } = process`. */
export function environmentReads(file: string, source: string): string[] {
  if (!MAY_NAME_ENV.test(source)) return [];
  const parsed = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const at = (node: ts.Node) => found.push(`${file}:${parsed.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText(parsed)}`);
  const holdsEnvironment = (node: ts.Expression) =>
    (ts.isIdentifier(node) && (node.text === "process" || node.text === "Bun")) || (ts.isMetaProperty(node) && node.name.text === "meta");
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAccessExpression(node) && node.name.text === "env" && holdsEnvironment(node.expression)) at(node);
    if (
      ts.isElementAccessExpression(node) &&
      holdsEnvironment(node.expression) &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      node.argumentExpression.text === "env"
    )
      at(node);
    if (ts.isVariableDeclaration(node) && ts.isObjectBindingPattern(node.name) && node.initializer && holdsEnvironment(node.initializer)) {
      const takesEnv = node.name.elements.some((element) => (element.propertyName ?? element.name).getText(parsed) === "env");
      if (takesEnv) at(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(parsed);
  return found;
}

describe("the environment is read in config/ only (docs/ARCHITECTURE.md)", () => {
  test("finds what it looks for, and not the words in a string", () => {
    // Each statement that reads, then each that only names the words (a string, another object's env).
    const reads = ["f(process.env.HOME);", 'f(process["env"]);', "f(Bun.env.PATH);", "f(import.meta.env);", "const { env } = process;"];
    const source = [...reads, 'f("process.env.HOME");', "f(options.env);"].join("\n");
    const lines = environmentReads("x.ts", source).map((read) => Number(read.split(":")[1]));
    expect(lines).toEqual([1, 2, 3, 4, 5]);
    // Spelt through escapes, each alone in its file, so that no `env` in plain text is what has it parsed.
    const escaped = ["f(process.\\u0065nv.HOME);", 'f(process["\\x65nv"]);', 'f(process["e\\\nnv"]);'];
    expect(escaped.map((statement) => environmentReads("x.ts", statement).length)).toEqual([1, 1, 1]);
  });

  test("no production file outside config/ and main.ts reads the environment: values are passed down", () => {
    const files = productionFiles(NOT_PRODUCTION).filter((file) => !READERS(file));
    expect(files.length).toBeGreaterThan(300);
    expect(files.flatMap((file) => environmentReads(file, readFileSync(join(REPO, file), "utf8")))).toEqual([]);
  });
});
