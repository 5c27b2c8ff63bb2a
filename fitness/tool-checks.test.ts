import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RESERVED_TOOL_NAMES } from "../config/tool-names.ts";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { RepoGit } from "../git/repo-git.ts";
import { makeCandidate, promotionRepo, writeFixtureTool } from "../testing/promotion-fixture.ts";
import { CLAMP } from "../testing/toolsmith-fixtures.ts";
import { ordinaryCorpus, submittedSources } from "../toolsmith/ordinary-corpus.ts";
import { checkGeneratedTools } from "./tool-checks.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const root = mkdtempSync(join(tmpdir(), "org-tool-checks-"));
chmodSync(root, 0o755); // the sandbox uid passes through it when org runs as root
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The gate's tool checks of `commit` against `main`, in this test process's sandbox, at the default settings. */
const judge = (
  git: RepoGit,
  refs: { main: string; commit: string },
  runDir: string,
  more: { revalidate?: boolean; onWellFormed?: () => void } = {},
) => checkGeneratedTools(git, { ...testSandboxAccess(), ...refs, runDir: join(root, runDir), settings: ToolsmithSettings.parse({}), ...more });

describe("the gate's tool checks on ordinary code (issue 30)", () => {
  test("main's tool with a lookup table in its tests and a new one with a counter pass the gate's static policy, their tests and validation again", async () => {
    const corpus = ordinaryCorpus();
    const [onMain, added] = ["integer_to_roman", "histogram_buckets"].map((name) => {
      const tool = corpus.find((entry) => entry.name === name);
      if (!tool) throw new Error(`ordinary-corpus.md has no ${name}`);
      const { toolCode, testCode } = submittedSources(tool);
      return { key: name, goal: tool.spec.description, spec: tool.spec as unknown as Record<string, unknown>, tool: toolCode, tests: testCode };
    });
    if (!onMain || !added) throw new Error("two tools expected");
    using repo = promotionRepo([onMain]);
    const commit = makeCandidate(repo.dir, "cand/20261125T120000Z", (worktree) => writeFixtureTool(worktree, added));
    const git = new RepoGit(repo.dir);
    const main = (await git.run(["rev-parse", "main"])).trim();
    const checks = await judge(git, { main, commit }, "gate", { revalidate: true });
    const byName = (prefix: string) => checks.find((check) => check.name.startsWith(prefix));
    expect(byName("tool files, metadata hashes, static policy")).toMatchObject({ ok: true });
    expect(checks.filter((check) => !check.ok).map((check) => `${check.name}: ${check.reason}`)).toEqual([]);
    expect(byName("tool files, metadata hashes, static policy")?.reason).toBe(`2 tool(s) well-formed; changed: ${added.key}`);
    expect(byName(`${added.key}: toolsmith validation again`)?.ok).toBe(true);
  }, 240_000);
});

describe("the gate's tool checks on names", () => {
  test("a candidate whose tool takes a reserved name (a built-in, one the room adds, a phase tool) is refused before any test runs", async () => {
    const reserved = ["sh", "find_tool", "submit_tests"];
    for (const name of reserved) expect(RESERVED_TOOL_NAMES).toContain(name);
    using repo = promotionRepo([CLAMP]);
    const commit = makeCandidate(repo.dir, "cand/20261125T120100Z", (worktree) => {
      for (const name of reserved) writeFixtureTool(worktree, CLAMP, { name });
    });
    const git = new RepoGit(repo.dir);
    const main = (await git.run(["rev-parse", "main"])).trim();
    let ranTests = false;
    const checks = await judge(git, { main, commit }, "reserved", { onWellFormed: () => (ranTests = true) });
    expect(ranTests).toBe(false);
    const formed = checks.find((check) => check.name === "tool files, metadata hashes, static policy");
    expect(formed?.ok).toBe(false);
    expect(formed?.reason.split("; ").sort()).toEqual(
      reserved
        .map((name) => `${name} is a reserved tool name (a built-in, or one the room or the toolsmith adds): build it under another name`)
        .sort(),
    );
  }, 60_000);
});
