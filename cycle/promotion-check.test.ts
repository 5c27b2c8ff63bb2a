import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeCandidate, promotionRepo, runOrg, writePassingReport, writeTool } from "../testing/promotion-fixture.ts";
import { checkoutState, gitSync } from "../testing/temp-git-repo.ts";
import { type FitnessReport, storedReports } from "../fitness/fitness-report.ts";
import { GATE_KEY_FILE } from "../fitness/gate-key.ts";

const BRANCH = "cand/20261123T101500Z";
const promote = (dir: string, ...args: string[]) => runOrg(["promote", ...args, "--repo", dir, "--no-restart"], {});

/** A hand-written report, shaped exactly like the gate's, for `commit` against main's current commit. */
function handWritten(dir: string, commit: string, mac?: string): FitnessReport {
  return {
    version: 1,
    verdict: "pass",
    commit,
    branch: BRANCH,
    mainCommit: gitSync(dir, ["rev-parse", "main"]).trim(),
    checks: [{ stage: "protected-core", name: "protected core", ok: true, reason: "3 file(s), all under tools/generated/", durationMs: 1 }],
    summary: "fitness: pass",
    startedAt: new Date().toISOString(),
    durationMs: 1,
    ...(mac ? { mac } : {}),
  };
}

describe("promote accepts only a report this checkout's gate signed, and re-checks the protected core itself", () => {
  test("the attack from the review: a cand branch changing main.ts and README.md with a hand-written passing report promotes nothing", async () => {
    using repo = promotionRepo();
    const commit = makeCandidate(repo.dir, BRANCH, (worktree) => {
      writeTool(worktree, "lower", "x");
      writeFileSync(join(worktree, "main.ts"), "// wrote .org/fitness/<commit>.json when started\n");
      writeFileSync(join(worktree, "README.md"), "taken over\n");
    });
    // What the candidate's main.ts wrote into current's checkout: the old layout, no signature.
    mkdirSync(join(repo.dir, ".org", "fitness"), { recursive: true });
    writeFileSync(join(repo.dir, ".org", "fitness", `${commit}.json`), JSON.stringify(handWritten(repo.dir, commit)));
    const state = checkoutState(repo.dir);
    const refused = await promote(repo.dir, BRANCH);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(`refused to promote ${BRANCH}`);
    expect(refused.out).toContain("was not written by this checkout's gate");
    expect(checkoutState(repo.dir)).toBe(state);

    // Even a report the gate did sign does not carry a core change past promote's own check.
    writePassingReport(repo.dir, commit, BRANCH);
    const signed = await promote(repo.dir, BRANCH);
    expect(signed.code).toBe(1);
    expect(signed.out).toContain("the protected-core check, run again on");
    expect(signed.out).toContain('"main.ts" is outside tools/generated/<tool>/');
    expect(checkoutState(repo.dir)).toBe(state);
  }, 60_000);

  test("refused: a forged signature in the new layout, and a report copied from another checkout signed with its own key", async () => {
    using repo = promotionRepo();
    using other = promotionRepo();
    const commit = makeCandidate(repo.dir, BRANCH, (worktree) => writeTool(worktree, "lower", "x"));
    // The gate has run here before (the key exists), and a forged report sits in the per-run folder.
    writePassingReport(repo.dir, "0".repeat(40), BRANCH);
    mkdirSync(join(repo.dir, ".org", "fitness", commit), { recursive: true });
    writeFileSync(
      join(repo.dir, ".org", "fitness", commit, "20991231T235959000Z.json"),
      JSON.stringify(handWritten(repo.dir, commit, "a".repeat(64))),
    );
    const state = checkoutState(repo.dir);
    const forged = await promote(repo.dir, BRANCH);
    expect(forged.code).toBe(1);
    expect(forged.out).toContain("was not written by this checkout's gate");

    // Signed by the other checkout's gate, for this very commit and main, then copied over.
    const main = gitSync(repo.dir, ["rev-parse", "main"]).trim();
    const copied = writePassingReport(other.dir, commit, BRANCH, (report) => {
      report.mainCommit = main;
    });
    writeFileSync(join(repo.dir, ".org", "fitness", commit, "20991231T235959000Z.json"), readFileSync(copied));
    const foreign = await promote(repo.dir, BRANCH);
    expect(foreign.code).toBe(1);
    expect(foreign.out).toContain("was not written by this checkout's gate");
    expect(checkoutState(repo.dir)).toBe(state);

    // The gate's own report for it promotes.
    writePassingReport(repo.dir, commit, BRANCH);
    const promoted = await promote(repo.dir, BRANCH);
    expect(promoted.out).toContain(`promoted ${BRANCH}`);
    expect(promoted.code).toBe(0);
  }, 60_000);

  test("the key is 0600, made once; every run keeps its own report; with no branch named, the most recently passed candidate is chosen", async () => {
    using repo = promotionRepo();
    const first = makeCandidate(repo.dir, BRANCH, (worktree) => writeTool(worktree, "lower", "x"));
    const newer = "cand/20261123T101600Z";
    makeCandidate(repo.dir, newer, (worktree) => writeTool(worktree, "newer", "x"));
    const one = writePassingReport(repo.dir, first, BRANCH, (report) => {
      report.verdict = "fail";
      report.startedAt = "2026-11-23T10:00:00.000Z";
    });
    const two = writePassingReport(repo.dir, first, BRANCH, (report) => {
      report.startedAt = "2026-11-23T10:05:00.000Z";
    });
    expect(one).not.toBe(two);
    expect(storedReports(repo.dir, first).map((entry) => entry.report?.verdict)).toEqual(["pass", "fail"]);
    expect(statSync(join(repo.dir, GATE_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(two).mode & 0o777).toBe(0o600);

    // The newest branch has no report: promote picks the one judged pass, and says so.
    const chosen = await promote(repo.dir);
    expect(chosen.out).toContain(`chose ${BRANCH}`);
    expect(chosen.out).toContain(`promoted ${BRANCH}`);
    expect(chosen.code).toBe(0);
    const none = await promote(repo.dir);
    expect(none.code).toBe(1);
    expect(none.out).toContain("no cand/* branch has a passing fitness report");
  }, 60_000);
});
