import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import ts from "typescript";
import { GENERATED_TOOLS_DIR, ORG_DIR } from "./workspace-paths.ts";

const REPO = join(import.meta.dir, "..");
const NOT_PRODUCTION = new Set(["testing", "bench", "node_modules", ".org", ".git", "ops", "demo", "docs"]);

// Promoted tools are the models' code, run in the sandbox, not org's: one may well hold a string like ".org/x".
// Leaving them out also keeps this test from reading the folder, so the gate need not run it for every candidate.
function productionFiles(directory: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    const rel = relative(REPO, path);
    if (NOT_PRODUCTION.has(rel.split("/")[0] ?? "") || rel === GENERATED_TOOLS_DIR) continue;
    if (statSync(path).isDirectory()) found.push(...productionFiles(path));
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts")) found.push(path);
  }
  return found;
}

/**
 * A string can spell `.org` only where the file's text holds it, or through a backslash: an escape (`\x2e`, `\u{6f}`, `\0`),
 * a line continuation, or one that stands for its letter (`\o`). Files with neither are not parsed: most of them.
 */
const MAY_SPELL_ORG = /\.org|\\[.orgxu0-9\r\n\u2028\u2029]/;

/** The strings and template pieces of a file that are `.org` or a path under it (comments and help texts are prose). */
function orgLiterals(file: string): string[] {
  const text = readFileSync(file, "utf8");
  if (!MAY_SPELL_ORG.test(text)) return [];
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const hits: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      if (/^\.org(\/|$)/.test(node.text)) hits.push(`${relative(REPO, file)}: ${JSON.stringify(node.text)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return hits;
}

describe("config/workspace-paths.ts: the only place `.org` is spelled", () => {
  test("no production file but workspace-paths.ts names `.org` in a string", () => {
    const self = join(import.meta.dir, "workspace-paths.ts");
    const spelled = productionFiles(REPO)
      .filter((file) => file !== self)
      .flatMap(orgLiterals);
    expect(spelled).toEqual([]);
  });

  test("the check sees a spelled `.org`", () => {
    expect(ORG_DIR).toBe(".org");
    const sample = join(import.meta.dir, "workspace-paths.ts");
    expect(orgLiterals(sample)).toEqual([`config/workspace-paths.ts: ".org"`]);
  });

  test("the check sees `.org` spelled through escapes, a line continuation or a template, each file alone, and no other name", () => {
    const dir = mkdtempSync(join(tmpdir(), "org-spelled-"));
    try {
      // Each alone in its file: a file holding `.org` as it is would be parsed whatever the others hold.
      const spellings = [
        '"\\x2eorg/a"',
        '".\\u006frg"',
        "'.\\u{6f}rg/b'",
        '".\\org"',
        '".o\\\nrg"',
        "`${x}`.concat(`\\x2eorg`)",
        '".orgs"',
        '"x.org"',
      ];
      const seen = spellings.map((spelling, index) => {
        const file = join(dir, `spelled-${index}.ts`);
        writeFileSync(file, `export const s = ${spelling};\n`);
        return orgLiterals(file).map((hit) => hit.slice(hit.indexOf(": ") + 2));
      });
      expect(seen).toEqual([['".org/a"'], ['".org"'], ['".org/b"'], ['".org"'], ['".org"'], ['".org"'], [], []]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
