import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { filesReachedFrom } from "./module-imports.ts";

// org's runtime code may be bundled into one file, where every module's `import.meta` is the bundle's: the folder of a
// module is the bundle's folder, and a CommonJS bundle cannot parse `import.meta.require`. A file finds org's own files
// from CHECKOUT_DIR, which config/workspace-paths.ts alone computes.

const REPO = join(import.meta.dir, "..");
const ALLOWED = "config/workspace-paths.ts";

/**
 * Each `import.meta` of `files` (paths under `root`; by default those `main.ts` reaches), but in
 * config/workspace-paths.ts: `file:line: text`. Only a file whose text holds `meta`, or a `\u` escape that could spell
 * it, can hold one: the compiler parses those alone (a tenth of them), not the whole graph a second time.
 */
function importMetaUses(root: string, files = filesReachedFrom("main.ts", root)): string[] {
  return files
    .filter((file) => file !== ALLOWED)
    .flatMap((file) => {
      const text = readFileSync(join(root, file), "utf8");
      if (!text.includes("meta") && !text.includes("\\u")) return [];
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      const uses: string[] = [];
      const visit = (node: ts.Node) => {
        if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
          const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
          const use = ts.isPropertyAccessExpression(node.parent) ? node.parent.getText(source) : node.getText(source);
          uses.push(`${file}:${line}: ${use}`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
      return uses;
    });
}

describe("import.meta in the code main.ts reaches (it breaks in a bundle)", () => {
  // Every file main.ts reaches parsed by the compiler: seconds of CPU, which a load of 30 on two cores stretched past
  // the suite's 60 s in a where-it-runs clone.
  test("only config/workspace-paths.ts uses it; any other file names its files from CHECKOUT_DIR", () => {
    const reached = filesReachedFrom("main.ts", REPO);
    expect(reached).toContain(ALLOWED);
    expect(importMetaUses(REPO, reached)).toEqual([]);
  }, 180_000);

  test("finds a use reached by an import, a lazy import() or require(), spelt with a comment or an escape; none in a string or comment", () => {
    const root = mkdtempSync(join(tmpdir(), "org-import-meta-"));
    try {
      mkdirSync(join(root, "config"));
      mkdirSync(join(root, "lib"));
      const files: Record<string, string> = {
        "main.ts": 'import { a } from "./lib/a.ts";\nawait import("./lib/b.ts");\nexport const dir = a;\n',
        [ALLOWED]: "export const CHECKOUT_DIR = import.meta.dir;\n",
        "lib/a.ts":
          'import { CHECKOUT_DIR } from "../config/workspace-paths.ts";\n// import.meta.dir\nexport const a = `${CHECKOUT_DIR} import.meta.url`;\n',
        "lib/b.ts": 'export const b = () => require("./c.ts");\nexport const e = () => require("./e.ts");\n',
        "lib/c.ts": 'export const c = 1;\nexport const gzip = () => import.meta.require("node:zlib");\n',
        // `meta` escaped: a file is parsed only when its text holds the word or an escape, and this one must be.
        "lib/e.ts": "export const url = () => import . /* here */ \\u006deta.url;\n",
        "lib/unreached.ts": "export const d = import.meta.dir;\n",
      };
      for (const [file, text] of Object.entries(files)) writeFileSync(join(root, file), text);
      expect(importMetaUses(root)).toEqual(["lib/c.ts:2: import.meta.require", "lib/e.ts:1: import . /* here */ \\u006deta.url"]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
