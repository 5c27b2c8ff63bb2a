import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { prepareCandidateWorktree } from "../git/candidate-worktree.ts";
import { RepoGit } from "../git/repo-git.ts";
import { makeCandidate, promotionRepo, writePassingReport, writeTool } from "../testing/promotion-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { checkCandidateStartable, defaultCandidateBranch, InstanceStartError } from "./side-by-side.ts";

const BRANCH = "cand/20261123T101500Z";

async function refusal(dir: string, branch: string): Promise<string> {
  try {
    await checkCandidateStartable(new RepoGit(dir), branch);
  } catch (error) {
    expect(error).toBeInstanceOf(InstanceStartError);
    return (error as Error).message;
  }
  throw new Error(`${branch} was not refused`);
}

describe("a candidate is started only when its diff from main stays inside tools/generated/", () => {
  test("refused, naming the files: main.ts, README.md, an executable tool file", async () => {
    using repo = promotionRepo();
    makeCandidate(repo.dir, BRANCH, (worktree) => {
      writeTool(worktree, "lower", "fine");
      writeFileSync(join(worktree, "main.ts"), "// writes a passing report, then serves\n");
      writeFileSync(join(worktree, "README.md"), "changed\n");
    });
    const message = await refusal(repo.dir, BRANCH);
    expect(message).toContain(`refused to start ${BRANCH}`);
    expect(message).toContain('"main.ts" is outside tools/generated/<tool>/');
    expect(message).toContain('"README.md" is outside tools/generated/<tool>/');

    const executable = "cand/20261123T101501Z";
    makeCandidate(repo.dir, executable, (worktree) => {
      writeTool(worktree, "lower", "x");
      chmodSync(join(worktree, "tools/generated/lower/tool.ts"), 0o755);
    });
    expect(await refusal(repo.dir, executable)).toContain("is executable");
    // Nothing was checked out for either.
    expect(existsSync(join(repo.dir, ".org", "worktrees"))).toBe(false);
  });

  test("accepted: a tool-only candidate, also when main gained other commits since it was built", async () => {
    using repo = promotionRepo();
    const candidate = makeCandidate(repo.dir, BRANCH, (worktree) => writeTool(worktree, "lower", "new"));
    expect(await checkCandidateStartable(new RepoGit(repo.dir), BRANCH)).toBe(candidate);
    writeFileSync(join(repo.dir, "NOTES.md"), "main moves on\n");
    gitSync(repo.dir, ["add", "-A"]);
    gitSync(repo.dir, ["commit", "--quiet", "-m", "main moves"]);
    expect(await checkCandidateStartable(new RepoGit(repo.dir), BRANCH)).toBe(candidate);
  });

  test("with no branch named, the newest candidate still in play is started, not a newer failed one", async () => {
    using repo = promotionRepo();
    makeCandidate(repo.dir, BRANCH, (worktree) => writeTool(worktree, "lower", "x"));
    const failed = makeCandidate(repo.dir, "cand/20261123T101600Z", (worktree) => writeTool(worktree, "shout", "x"));
    expect(await defaultCandidateBranch(new RepoGit(repo.dir))).toBe("cand/20261123T101600Z");
    writePassingReport(repo.dir, failed, "cand/20261123T101600Z", (report) => {
      report.verdict = "fail";
    });
    expect(await defaultCandidateBranch(new RepoGit(repo.dir))).toBe(BRANCH);
  });

  test("the worktree is made at the checked commit even when the branch moved after the check", async () => {
    using repo = promotionRepo();
    const git = new RepoGit(repo.dir);
    const checked = makeCandidate(repo.dir, BRANCH, (worktree) => writeTool(worktree, "lower", "checked"));
    expect(await checkCandidateStartable(git, BRANCH)).toBe(checked);
    // The branch moves to a commit that changes main.ts between the check and the start.
    const moved = join(repo.dir, ".org", "wt-move");
    gitSync(repo.dir, ["worktree", "add", "--quiet", moved, BRANCH]);
    writeFileSync(join(moved, "main.ts"), "// hostile\n");
    gitSync(moved, ["add", "-A"]);
    gitSync(moved, ["commit", "--quiet", "-m", "after the check"]);
    gitSync(repo.dir, ["worktree", "remove", "--force", moved]);
    const worktree = await prepareCandidateWorktree(git, BRANCH, undefined, checked);
    expect(worktree.commit).toBe(checked);
    expect(gitSync(worktree.directory, ["rev-parse", "HEAD"]).trim()).toBe(checked);
    expect(existsSync(join(worktree.directory, "main.ts"))).toBe(false);
    // An ignored file left in a reused worktree is removed before the server starts there.
    writeFileSync(join(worktree.directory, ".env"), "ORG_SANDBOX=off\n");
    writeFileSync(join(worktree.directory, ".gitignore"), ".env\n");
    gitSync(worktree.directory, ["add", ".gitignore"]);
    gitSync(worktree.directory, ["commit", "--quiet", "-m", "ignore .env"]);
    const again = await prepareCandidateWorktree(git, BRANCH, undefined, checked);
    expect(again.reused).toBe(true);
    expect(existsSync(join(again.directory, ".env"))).toBe(false);
  });
});
