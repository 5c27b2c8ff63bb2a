import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  BEGIN_MARKER,
  blockIn,
  END_MARKER,
  LONG_FUNCTION_LINES,
  type LintFigures,
  lintFigures,
  REFRESH_COMMAND,
  renderLintFigures,
  withBlock,
} from "./lint-figures.ts";

const REPO = join(import.meta.dir, "..");
// The whole production tree parsed once for the tests that read it: about 4 s of CPU, which a machine at a load of 30
// (two cores) stretches past 30 s, so each test that may be the first to ask is given three minutes.
let treeFigures: LintFigures | undefined;
const figuresOfTree = () => {
  treeFigures ??= lintFigures(REPO);
  return treeFigures;
};

describe("docs/lint.md's figures", () => {
  test("are the ones the tree has today", () => {
    const doc = readFileSync(join(REPO, "docs", "lint.md"), "utf8");
    const written = blockIn(doc);
    const computed = renderLintFigures(figuresOfTree());
    const stale =
      written === computed
        ? ""
        : `docs/lint.md's figures differ from the tree's: run \`${REFRESH_COMMAND}\` and commit docs/lint.md.\nwritten:\n${written ?? "(no block between the markers)"}\ncomputed:\n${computed}`;
    expect(stale).toBe("");
  }, 180_000);
});

describe("the production code", () => {
  test(`has no function over ${LONG_FUNCTION_LINES} lines by span, its closures counted`, () => {
    const long = figuresOfTree().longFunctions.map(({ file, name, lines }) => `${file} ${name}: ${lines} lines`);
    // Split such a function by meaning (named parts a reader can follow), as docs/lint.md says.
    expect(long).toEqual([]);
  }, 180_000);
});

describe("lintFigures counts what it says", () => {
  const tree = mkdtempSync(join(tmpdir(), "org-lint-figures-"));
  afterAll(() => rmSync(tree, { recursive: true, force: true }));
  const put = (path: string, text: string) => {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), text);
  };
  const shared = ["const a = one();", "const b = two(a);", "if (b > 3) run(b);", "let c = a + b;", "c = c * 2;", "report(c);"].join("\n");
  put(
    "part/casts.ts",
    `const x = y as string;\nconst k = ["a"] as const;\nconst z = list[0] as number;\nconst m = map.get("k") as Thing;\n// biome-ignore lint/x: a reason\n`,
  );
  // Each body its own lines, so that they are not duplicates of each other.
  const body = (name: string, lines: number, indent = "  ") =>
    Array.from({ length: lines }, (_, index) => `${indent}${name} += ${index};`).join("\n");
  put(
    "part/long.ts",
    [
      // 80 lines from its first to its last: not listed.
      `export function atTheBound() {\n${body("atTheBound", LONG_FUNCTION_LINES - 2)}\n}`,
      // 81 lines: listed.
      `export function overTheBound() {\n${body("overTheBound", LONG_FUNCTION_LINES - 1)}\n}`,
      // Two closures of 42 lines each, none long, in a function that spans 87: the function is listed, its closures are not.
      `export function twoClosures() {\n  const a = () => {\n${body("a", 40, "    ")}\n  };\n  const b = () => {\n${body("b", 40, "    ")}\n  };\n  return [a, b];\n}`,
      // A closure over the bound, in a function that is over it with it: both listed.
      `export function outer() {\n  const inner = () => {\n${body("inner", LONG_FUNCTION_LINES, "    ")}\n  };\n  return inner;\n}`,
    ].join("\n"),
  );
  put("part/first.ts", `import { x } from "./x.ts";\n${shared}\n`);
  put("other/second.ts", `// a comment\n${shared.replaceAll(" ", "   ")}\n`);
  put("part/casts.test.ts", `const t = u as string;\nconst long = "${"x".repeat(200)}";\n`);
  // A RepoGit: its static members open one; its methods are git operations, `run` apart (testing/git-owner.test.ts).
  put(
    "git/repo-git.ts",
    "export class RepoGit {\n  constructor(readonly repoDir: string) {}\n  static isCheckout(dir: string) {\n    return dir !== '';\n  }\n" +
      "  static openCheckout(dir: string) {\n    return new RepoGit(dir);\n  }\n  async run(args: string[]) {\n    return args.join(' ');\n  }\n" +
      "  async candidateRefs() {\n    return [this.repoDir];\n  }\n  async promotionTags(kind: string) {\n    return [kind];\n  }\n}\n",
  );
  put("cli/reads-refs.ts", 'import { RepoGit } from "../git/repo-git.ts";\nexport const refs = (dir: string) => new RepoGit(dir).candidateRefs();\n');
  put("cli/lazy.ts", 'export const load = () => import("../git/bundle.ts");\n');
  put("cli/clean.ts", 'import { x } from "../room/room.ts";\nexport const y = x;\n');
  put("cli/area/deep.ts", 'import { candidateRefNames } from "../../git/candidate-ref-names.ts";\nexport const names = candidateRefNames;\n');
  put("cli/area/handle.ts", 'import type { RepoGit } from "../../git/repo-git.ts";\nexport const dir = (git: RepoGit) => git.repoDir;\n');
  // What a command may do with git/: open the repository it names, ask git's version, check a ref's name; a runner's `run`.
  put(
    "cli/area/opens.ts",
    [
      'import { RepoGit } from "../../git/repo-git.ts";',
      'import { installedGitVersion } from "../../git/installed-git-version.ts";',
      'import * as names from "../../git/ref-names.ts";',
      "export const open = (dir: string) => (RepoGit.isCheckout(dir) ? RepoGit.openCheckout(dir).repoDir : new RepoGit(dir).repoDir);",
      "export const probe = (runner: { run(): void }) => [installedGitVersion(), runner.run(), names.isMainOrCandidate('main')];",
    ].join("\n"),
  );
  // A repository read through a handle named by its type only, and a module of git/ taken whole.
  put(
    "cli/area/through-handle.ts",
    [
      'import type { RepoGit } from "../../git/repo-git.ts";',
      'import * as git from "../../git/bundle.ts";',
      'export const tags = (repo: RepoGit) => repo.promotionTags("promote");',
      "export const names = git;",
    ].join("\n"),
  );
  put("part/state.ts", `let cached: string | undefined;\nexport const read = () => (cached ??= "${"y".repeat(160)}");\n`);
  // A component of the web page is production code too: its state, its long function and its long line are counted.
  put(
    "page/view.tsx",
    `let opened = 0;\nexport function LongView() {\n${body("opened", LONG_FUNCTION_LINES)}\n` +
      `  return <p title="${"z".repeat(150)}">{opened}</p>;\n}\n`,
  );
  put("testing/helper.ts", "const t = u as string;\n");
  put("tools/generated/made/tool.ts", "const t = u as string;\n");

  test("module-level state, cli/ files doing git work, lines over the width outside tests and in tests", () => {
    const figures = lintFigures(tree);
    // The shared run's `let c` stands at the top level of both files that hold it.
    expect(figures.moduleState).toEqual([
      "other/second.ts:5: module-level let c",
      "page/view.tsx:1: module-level let opened",
      "part/first.ts:5: module-level let c",
      "part/state.ts:1: module-level let cached",
    ]);
    expect(figures.cliGitWork).toEqual([
      "cli/area/deep.ts:1: imports candidateRefNames from git/candidate-ref-names.ts",
      "cli/area/through-handle.ts:2: imports git/bundle.ts whole",
      "cli/area/through-handle.ts:3: calls repo.promotionTags",
      'cli/lazy.ts:1: import("git/bundle.ts")',
      "cli/reads-refs.ts:2: calls new RepoGit(dir).candidateRefs",
    ]);
    expect(figures.longLines).toEqual({ outsideTests: ["page/view.tsx:83", "part/state.ts:2"], inTests: 1 });
  });

  test("casts, indexed and lookup casts, biome-ignores: tests, test helpers and generated tools apart", () => {
    const figures = lintFigures(tree);
    expect(figures.files).toBe(14);
    expect(figures.casts).toBe(3);
    expect(figures.indexedCasts).toEqual(["part/casts.ts"]);
    expect(figures.mapGetCasts).toEqual(["part/casts.ts"]);
    expect(figures.biomeIgnores).toEqual(["part/casts.ts"]);
  });

  test("a function is long by its span, its closures included; a closure over the bound is listed too", () => {
    const found = lintFigures(tree).longFunctions.map(({ file, name, lines }) => `${file} ${name} ${lines}`);
    expect(found).toEqual([
      "part/long.ts twoClosures 87",
      "part/long.ts outer 85",
      "page/view.tsx LongView 83",
      "part/long.ts inner 82",
      "part/long.ts overTheBound 81",
    ]);
  });

  test("six shared code lines in two files are one pair, white space and comments aside", () => {
    expect(lintFigures(tree).duplicates).toEqual([{ first: "other/second.ts", second: "part/first.ts", lines: 6 }]);
  });
});

describe("the block between the markers", () => {
  test("is read and replaced, the text around it kept", () => {
    const doc = `before\n${BEGIN_MARKER}\nold\n${END_MARKER}\nafter\n`;
    const updated = withBlock(doc, "new");
    expect(updated).toBe(`before\n${BEGIN_MARKER}\nnew\n${END_MARKER}\nafter\n`);
    expect(blockIn(updated)).toBe("new");
  });

  test("missing markers are named, with the command that writes the block", () => {
    expect(blockIn("no markers")).toBeUndefined();
    expect(() => withBlock("no markers", "new")).toThrow(REFRESH_COMMAND);
  });
});
