import { describe, expect, test } from "bun:test";
import { readBaseline } from "../fitness/fitness-baseline.ts";
import { promotionContext } from "./promotion-context.ts";
import { promoteVerdict } from "./promote-verdict.ts";
import { RepoGit } from "../git/repo-git.ts";
import { freePort } from "../testing/free-port.ts";
import {
  consistencyProblems,
  makeCandidate,
  promotionRepo,
  runOrg,
  stopCurrents,
  writePassingReport,
  writeTool,
} from "../testing/promotion-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";

const BRANCH = "cand/20261123T101500Z";
// More kill points than a run has: the loop stops at the first k the run outlives.
const MAX_POINTS = 12;
// The counts the candidate's passing report gives: the baseline takes them as main moves, and gives back what a rollback undoes.
const PASSES = { echo: 1, "tool lower": 2, "tool upper": 1 };

/** A repository with a judged candidate; `promoted` also merges it (in-process, no restart) first. */
async function prepared(promoted: boolean) {
  const repo = promotionRepo();
  const before = gitSync(repo.dir, ["rev-parse", "main"]).trim();
  const candidate = makeCandidate(repo.dir, BRANCH, (worktree) => writeTool(worktree, "lower", "new"));
  writePassingReport(repo.dir, candidate, BRANCH, (report) => {
    report.scenarioPasses = PASSES;
  });
  if (promoted) {
    const git = new RepoGit(repo.dir);
    await promoteVerdict(promotionContext({ repo: git, log: () => {} }), {
      branch: BRANCH,
      restart: false,
      verdict: (commit) => ({ commit, mainCommit: before, summary: "pass", scenarioPasses: PASSES }),
    });
  }
  return { repo, before, candidate };
}

describe("kill -9 at every journaled point, then a rerun, leaves a consistent repository", () => {
  test("promote: main ends merged with its tag, the checkout and current at main, nothing left behind", async () => {
    const port = freePort();
    let killedRuns = 0;
    for (let point = 1; point <= MAX_POINTS; point += 1) {
      const { repo, before, candidate } = await prepared(false);
      using _ = repo;
      const env = { ORG_CURRENT_PORT: String(port) };
      const killed = await runOrg(["promote", BRANCH, "--repo", repo.dir, "--health-timeout-s", "30"], { ...env, ORG_TEST_KILL_AT: String(point) });
      if (killed.signal !== "SIGKILL") {
        expect(killed.code).toBe(0);
        break;
      }
      killedRuns += 1;
      const rerun = await runOrg(["promote", BRANCH, "--repo", repo.dir, "--health-timeout-s", "30"], env);
      expect({ point, code: rerun.code, out: rerun.out }).toEqual({ point, code: 0, out: expect.any(String) });
      const main = gitSync(repo.dir, ["rev-parse", "main"]).trim();
      expect({ point, parents: gitSync(repo.dir, ["rev-list", "--parents", "-n", "1", main]).trim().split(" ").slice(1) }).toEqual({
        point,
        parents: [before, candidate],
      });
      const tag = gitSync(repo.dir, ["tag", "--points-at", main]).trim();
      expect(tag).toMatch(/^promote\/\d{8}T\d{6}Z$/);
      // The baseline followed main once: the report's counts, named for this promotion, signed for the merge.
      expect({ point, baseline: readBaseline(repo.dir) }).toMatchObject({
        point,
        baseline: { scenarios: PASSES, mainCommit: main, reason: `${tag} merged ${BRANCH}` },
      });
      expect({ point, problems: await consistencyProblems(repo.dir, port) }).toEqual({ point, problems: [] });
      stopCurrents(repo.dir);
    }
    // lock, planned, ref-moved, checkout-synced, restarted, cleared: every one was a kill point.
    expect(killedRuns).toBeGreaterThanOrEqual(6);
  }, 180_000);

  test("rollback: main ends at the revert with its tag and the pre-promotion tree, nothing left behind", async () => {
    const port = freePort();
    let killedRuns = 0;
    for (let point = 1; point <= MAX_POINTS; point += 1) {
      const { repo, before } = await prepared(true);
      using _ = repo;
      const merge = gitSync(repo.dir, ["rev-parse", "main"]).trim();
      const env = { ORG_CURRENT_PORT: String(port) };
      const killed = await runOrg(["rollback", "--repo", repo.dir, "--health-timeout-s", "30"], { ...env, ORG_TEST_KILL_AT: String(point) });
      if (killed.signal !== "SIGKILL") {
        expect(killed.code).toBe(0);
        break;
      }
      killedRuns += 1;
      const rerun = await runOrg(["rollback", "--repo", repo.dir, "--health-timeout-s", "30"], env);
      // Killed after the journal was cleared, the rollback was complete: a rerun finds nothing left to undo.
      const finishedAlready = rerun.code === 1 && rerun.out.includes("there is no promotion to roll back");
      expect({ point, code: finishedAlready ? 0 : rerun.code, out: rerun.out }).toEqual({ point, code: 0, out: expect.any(String) });
      expect({ point, tree: gitSync(repo.dir, ["rev-parse", "main^{tree}"]).trim() }).toEqual({
        point,
        tree: gitSync(repo.dir, ["rev-parse", `${before}^{tree}`]).trim(),
      });
      expect(gitSync(repo.dir, ["rev-parse", "main^"]).trim()).toBe(merge);
      const tag = gitSync(repo.dir, ["tag", "--points-at", "main"]).trim();
      expect(tag).toMatch(/^rollback\/\d{8}T\d{6}Z$/);
      // The baseline followed main: what the undone promotion could have changed is withdrawn, upper's count stays.
      const undone = gitSync(repo.dir, ["tag", "--points-at", merge]).trim();
      expect({ point, baseline: readBaseline(repo.dir) }).toMatchObject({
        point,
        baseline: { scenarios: { "tool upper": 1 }, mainCommit: gitSync(repo.dir, ["rev-parse", "main"]).trim(), reason: `${tag} undid ${undone}` },
      });
      expect({ point, problems: await consistencyProblems(repo.dir, port) }).toEqual({ point, problems: [] });
      stopCurrents(repo.dir);
    }
    expect(killedRuns).toBeGreaterThanOrEqual(6);
  }, 180_000);
});
