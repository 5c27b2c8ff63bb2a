import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { productionFiles } from "./production-files.ts";

// docs/ARCHITECTURE.md: git is driven only from git/ (RepoGit's typed reads and writes, the functions of git/).
// Production code is every .ts file of the parts in the layers table, tests (*.test.ts) left out. Tests and the
// fixtures of testing/ and bench/ (temp-git-repo.ts's gitSync, the fake current's `git rev-parse`) keep their own
// git helpers: they build and inspect throw-away repositories from outside git/, so that what they check is never
// read through the code under test. ops/, demo/ and docs/ hold no TypeScript that runs git.

const REPO = join(import.meta.dir, "..");
const NOT_PRODUCTION = new Set(["testing", "bench", "ops", "demo", "docs", "node_modules", ".org", ".git", ".ci"]);
const SPAWNS = new Set(["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork", "execa", "execaSync"]);

const isGit = (text: string) => text === "git" || text.endsWith("/git");
const stringText = (node: ts.Node | undefined) =>
  node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
const calleeName = (callee: ts.Expression) =>
  ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;

/** Where `source` drives git itself: a `.run(…)` on a repository, an argv that starts with git, a git spawn, simple-git. */
export function gitDrivers(file: string, source: string): string[] {
  const parsed = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const at = (node: ts.Node, what: string) => found.push(`${file}:${parsed.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${what}`);
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const [first] = node.arguments;
      if (ts.isPropertyAccessExpression(callee) && callee.name.text === "run") {
        const receiver = callee.expression.getText(parsed);
        const argvShaped = first !== undefined && ts.isArrayLiteralExpression(first) && stringText(first.elements[0]) !== undefined;
        if (/git|repo/i.test(receiver) || argvShaped) at(node, `${receiver}.run(…)`);
      }
      const name = calleeName(callee);
      const command = stringText(first);
      if (name !== undefined && SPAWNS.has(name) && command !== undefined && (isGit(command) || command.startsWith("git ")))
        at(node, `${name}("${command}")`);
    }
    if (ts.isArrayLiteralExpression(node)) {
      const command = stringText(node.elements[0]);
      if (command !== undefined && isGit(command)) at(node, `an argv ["${command}", …]`);
    }
    if (ts.isTaggedTemplateExpression(node) && /^\s*git\s/.test(node.template.getText(parsed).slice(1))) at(node, "a $`git …` template");
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && stringText(node.moduleSpecifier) === "simple-git")
      at(node, "imports simple-git");
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && stringText(node.arguments[0]) === "simple-git")
      at(node, "imports simple-git");
    ts.forEachChild(node, visit);
  };
  visit(parsed);
  return found;
}

describe("git is driven only from git/ (docs/ARCHITECTURE.md)", () => {
  const files = productionFiles(NOT_PRODUCTION);

  test("no production file outside git/ runs git: no .run(…) on a repository, no git argv or spawn, no simple-git", () => {
    const outside = files.filter((file) => !file.startsWith("git/"));
    expect(outside.length).toBeGreaterThan(300);
    expect(outside.flatMap((file) => gitDrivers(file, readFileSync(join(REPO, file), "utf8")))).toEqual([]);
  });

  test("the check sees each way in: a RepoGit's run, an argv table, Bun.spawn, child_process, $`git`, simple-git", () => {
    const source = [
      `await repo.git.run(["status"]);`,
      `const args = ["log"]; await toolRepo.run(args);`,
      `await anything.run(["rev-parse", "HEAD"]);`,
      `const programs = [["git", ["git", "--version"]]];`,
      `Bun.spawnSync(["/usr/bin/git", "status"]);`,
      `execFileSync("git", ["status"]);`,
      `child_process.exec("git status");`,
      "await $`git status`;",
      `import { simpleGit } from "simple-git";`,
      `const lazy = await import("simple-git");`,
    ].join("\n");
    const found = gitDrivers("cli/x.ts", source);
    expect(found.map((line) => Number(line.split(":")[1]))).toEqual([1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 10]);
    // What is no git: a sandbox's run, sqlite's, a spawn of another program.
    expect(gitDrivers("cli/y.ts", `await sandbox.run(command); statement.run(1, "x"); Bun.spawn(["tmux", "-V"]);`)).toEqual([]);
  });

  test("git/ itself is where git runs", () => {
    expect(gitDrivers("git/repo-git.ts", readFileSync(join(REPO, "git", "repo-git.ts"), "utf8")).length).toBeGreaterThan(0);
  });
});
