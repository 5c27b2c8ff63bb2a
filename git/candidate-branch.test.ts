import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkoutState, gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { candidateBranchName } from "./ref-names.ts";
import { CandidateRefusedError, checkCandidateBranch, landCandidate } from "./candidate-branch.ts";
import { RepoGit } from "./repo-git.ts";

const change = (name: string) => ({
  files: {
    [`tools/generated/${name}/tool.ts`]: "export default () => 1;\n",
    [`tools/generated/${name}/tool.test.ts`]: "// tests\n",
    [`tools/generated/${name}/metadata.json`]: "{}\n",
  },
  subject: `feat(tools): add generated tool ${name}`,
  trailers: { "Org-Model": "qwen3:8b\nInjected-Trailer: yes", "Org-Base-Url": "http://127.0.0.1:11434" },
});
const fixedNow = () => new Date("2026-11-23T10:15:00.400Z");

describe("candidate branches", () => {
  test("names are cand/<UTC second>, and nothing else passes the check", () => {
    expect(candidateBranchName(new Date("2026-11-23T10:15:00.999Z"))).toBe("cand/20261123T101500Z");
    for (const bad of ["main", "--force", "cand/20261123T101500Z/../main", "cand/2026", "refs/heads/cand/20261123T101500Z"]) {
      expect(() => checkCandidateBranch(bad)).toThrow(CandidateRefusedError);
    }
  });

  test("a tool lands on a new branch from main; the running checkout and every other ref are untouched", async () => {
    using repo = tempGitRepo();
    gitSync(repo.dir, ["branch", "other"]);
    gitSync(repo.dir, ["checkout", "--quiet", "-b", "feature"]);
    writeFileSync(join(repo.dir, "README.md"), "staged edit\n");
    gitSync(repo.dir, ["add", "README.md"]);
    writeFileSync(join(repo.dir, "README.md"), "unstaged edit\n");
    writeFileSync(join(repo.dir, "untracked.txt"), "x\n");
    const before = checkoutState(repo.dir);
    const main = gitSync(repo.dir, ["rev-parse", "main"]).trim();

    const landed = await landCandidate(new RepoGit(repo.dir), change("word_count"), { now: fixedNow });

    expect(landed.branch).toBe("cand/20261123T101500Z");
    const after = checkoutState(repo.dir).replace(`refs/heads/cand/20261123T101500Z ${landed.commit}\n`, "");
    expect(after).toBe(before);
    expect(gitSync(repo.dir, ["rev-parse", `${landed.branch}^`]).trim()).toBe(main);
    expect(gitSync(repo.dir, ["show", `${landed.branch}:tools/generated/word_count/tool.ts`])).toBe("export default () => 1;\n");
    const message = gitSync(repo.dir, ["log", "-1", "--format=%B", landed.branch]);
    expect(message).toContain("Org-Model: qwen3:8b Injected-Trailer: yes");
    expect(gitSync(repo.dir, ["log", "-1", "--format=%(trailers:key=Injected-Trailer)", landed.branch]).trim()).toBe("");
    expect(gitSync(repo.dir, ["worktree", "list", "--porcelain"]).match(/^worktree /gm)).toHaveLength(1);
    expect(readdirSync(join(repo.dir, ".org", "worktrees"))).toEqual([]);
  });

  test("bidi controls and line breaks in model text never reach the commit message", async () => {
    using repo = tempGitRepo();
    const hostile = {
      ...change("word_count"),
      subject: "feat(tools): add \u202eword_count\u202c\nSigned-off-by: someone",
      body: "Counts words \u2066evil\u2069.\r\nsecond \x1b[31mline\u2028third",
      trailers: { "Org-Model": "qwen\u200f3:8b" },
    };
    const landed = await landCandidate(new RepoGit(repo.dir), hostile, { now: fixedNow });
    const message = gitSync(repo.dir, ["log", "-1", "--format=%B", landed.branch]);
    expect(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\x1b\r]/.test(message)).toBe(false);
    expect(message.split("\n")[0]).toBe("feat(tools): add \\u202eword_count\\u202c Signed-off-by: someone");
    expect(message).toContain("Counts words \\u2066evil\\u2069.\nsecond \\x1b[31mline third");
    expect(message).toContain("Org-Model: qwen\\u200f3:8b");
  });

  test("an empty file lands as an empty blob", async () => {
    using repo = tempGitRepo();
    const empty = change("empty_tests");
    empty.files["tools/generated/empty_tests/tool.test.ts"] = "";
    const landed = await landCandidate(new RepoGit(repo.dir), empty, { now: fixedNow });
    expect(gitSync(repo.dir, ["cat-file", "-s", `${landed.commit}:tools/generated/empty_tests/tool.test.ts`]).trim()).toBe("0");
    expect(gitSync(repo.dir, ["show", `${landed.commit}:tools/generated/empty_tests/tool.ts`])).toBe("export default () => 1;\n");
  });

  test("two tools finished in the same second both land: the second takes the next free second", async () => {
    using repo = tempGitRepo();
    gitSync(repo.dir, ["branch", "cand/20261123T101500Z"]);
    const taken = gitSync(repo.dir, ["rev-parse", "cand/20261123T101500Z"]).trim();
    const [first, second] = await Promise.all([
      landCandidate(new RepoGit(repo.dir), change("tool_one"), { now: fixedNow }),
      landCandidate(new RepoGit(repo.dir), change("tool_two"), { now: fixedNow }),
    ]);
    expect([first.branch, second.branch].sort()).toEqual(["cand/20261123T101501Z", "cand/20261123T101502Z"]);
    expect(gitSync(repo.dir, ["rev-parse", "cand/20261123T101500Z"]).trim()).toBe(taken);
  });

  test("a refused change leaves no branch and no worktree", async () => {
    using repo = tempGitRepo();
    const before = checkoutState(repo.dir);
    const bad = { ...change("x_tool"), files: { "main.ts": "pwned" } };
    await expect(landCandidate(new RepoGit(repo.dir), bad, { now: fixedNow })).rejects.toThrow(CandidateRefusedError);
    const failing = { ...change("y_tool"), subject: "" };
    // An empty message makes git commit fail after the worktree exists: it must still be removed.
    await expect(landCandidate(new RepoGit(repo.dir), { ...failing, trailers: {} }, { now: fixedNow })).rejects.toThrow();
    expect(checkoutState(repo.dir)).toBe(before);
    expect(gitSync(repo.dir, ["worktree", "list", "--porcelain"]).match(/^worktree /gm)).toHaveLength(1);
    expect(existsSync(join(repo.dir, ".org", "worktrees")) ? readdirSync(join(repo.dir, ".org", "worktrees")) : []).toEqual([]);
  });
});

describe("after a kill -9", () => {
  test("a worktree left by a dead toolsmith is removed by the next landing; a live one's is kept", async () => {
    using repo = tempGitRepo();
    const dead = Bun.spawnSync(["/bin/true"]).pid; // exited: its pid names no live process (pids are not reused this fast)
    const abandoned = join(repo.dir, ".org", "worktrees", `toolsmith-${dead}-0badc0de`);
    const live = join(repo.dir, ".org", "worktrees", `toolsmith-${process.ppid}-00c0ffee`);
    gitSync(repo.dir, ["worktree", "add", "--detach", "--quiet", abandoned, "main"]);
    gitSync(repo.dir, ["worktree", "add", "--detach", "--quiet", live, "main"]);
    await landCandidate(new RepoGit(repo.dir), change("after_crash"), { now: fixedNow });
    expect(existsSync(abandoned)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(gitSync(repo.dir, ["worktree", "list", "--porcelain"]).match(/^worktree /gm)).toHaveLength(2);
  });
});
