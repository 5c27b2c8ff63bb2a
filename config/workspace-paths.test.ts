import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
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

/** The strings and template pieces of a file that are `.org` or a path under it (comments and help texts are prose). */
function orgLiterals(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false);
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
});
