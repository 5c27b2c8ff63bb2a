import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promoteCommand } from "../cli/candidates/promote-command.ts";
import { failureReport } from "../cli/run-org.ts";
import { PromotionRefusedError } from "./ref-change.ts";
import { freePort } from "../testing/free-port.ts";
import {
  consistencyProblems,
  liveCurrents,
  makeCandidate,
  promotionRepo,
  runOrg,
  writePassingReport,
  writeTool,
} from "../testing/promotion-fixture.ts";
import { checkoutState, gitSync } from "../testing/temp-git-repo.ts";

const BRANCH = "cand/20261123T101500Z";

async function orgIn(dir: string, port: number, ...args: string[]) {
  return await runOrg([...args, "--repo", dir, "--health-timeout-s", "30"], { ORG_CURRENT_PORT: String(port) });
}

describe("org promote and org rollback on a throw-away repository", () => {
  test("a candidate with a passing report is promoted as a two-parent merge with one tag; rollback restores the exact tree before it", async () => {
    using repo = promotionRepo();
    const port = freePort();
    const before = gitSync(repo.dir, ["rev-parse", "main"]).trim();
    const treeBefore = gitSync(repo.dir, ["rev-parse", "main^{tree}"]).trim();
    const candidate = makeCandidate(repo.dir, BRANCH, (worktree) => writeTool(worktree, "lower", "new"));
    writePassingReport(repo.dir, candidate, BRANCH);
    // A journal that cannot be written (here a folder a model planted) fails no promotion; the output says so.
    mkdirSync(join(repo.dir, ".org", "events.jsonl"), { recursive: true });

    const promoted = await orgIn(repo.dir, port, "promote", BRANCH);
    expect(promoted.out).toContain("promoted cand/20261123T101500Z");
    expect(promoted.out).toContain("main's change was not told");
    expect({ code: promoted.code, out: promoted.out }).toMatchObject({ code: 0 });
    const merge = gitSync(repo.dir, ["rev-parse", "main"]).trim();
    expect(gitSync(repo.dir, ["rev-list", "--parents", "-n", "1", merge]).trim().split(" ").slice(1)).toEqual([before, candidate]);
    expect(gitSync(repo.dir, ["log", "-1", "--format=%B", merge])).toContain("fitness: pass (test report)");
    const tags = gitSync(repo.dir, ["tag", "--points-at", merge]).trim().split("\n");
    expect(tags).toHaveLength(1);
    expect(tags[0]).toMatch(/^promote\/\d{8}T\d{6}Z$/);
    expect(existsSync(join(repo.dir, "tools/generated/lower/tool.ts"))).toBe(true);
    expect(await consistencyProblems(repo.dir, port)).toEqual([]);

    const rolledBack = await orgIn(repo.dir, port, "rollback", "--config", "demo/org.config.json");
    expect(rolledBack.out).toContain(`rolled back ${tags[0]}`);
    // start-current.sh got nothing from promote and the --config given to rollback.
    expect(readFileSync(join(repo.dir, ".org", "current-args"), "utf8")).toBe("\n--config demo/org.config.json\n");
    expect({ code: rolledBack.code, out: rolledBack.out }).toMatchObject({ code: 0 });
    expect(gitSync(repo.dir, ["rev-parse", "main^{tree}"]).trim()).toBe(treeBefore);
    expect(gitSync(repo.dir, ["rev-parse", "main^"]).trim()).toBe(merge);
    expect(gitSync(repo.dir, ["tag", "--points-at", "main"]).trim()).toMatch(/^rollback\/\d{8}T\d{6}Z$/);
    expect(existsSync(join(repo.dir, "tools/generated/lower"))).toBe(false);
    expect(gitSync(repo.dir, ["rev-parse", BRANCH]).trim()).toBe(candidate);
    expect(await consistencyProblems(repo.dir, port)).toEqual([]);
    expect(liveCurrents(repo.dir)).toHaveLength(1);

    const again = await orgIn(repo.dir, port, "rollback");
    expect(again.code).toBe(1);
    expect(again.out).toContain("there is no promotion to roll back");
  }, 90_000);

  test("refused, changing nothing: a report for another commit, main moved since the report, no report, a dirty checkout", async () => {
    using repo = promotionRepo();
    const port = freePort();
    const judged = makeCandidate(repo.dir, BRANCH, (worktree) => writeTool(worktree, "lower", "judged"));
    writePassingReport(repo.dir, judged, BRANCH);
    // The branch moves past the judged commit: the report is for another commit.
    const worktree = join(repo.dir, ".org", "wt-move");
    gitSync(repo.dir, ["worktree", "add", "--quiet", worktree, BRANCH]);
    writeTool(worktree, "lower", "moved after judging");
    gitSync(worktree, ["commit", "--quiet", "-am", "sneak in"]);
    gitSync(repo.dir, ["worktree", "remove", "--force", worktree]);
    let state = checkoutState(repo.dir);
    const other = await orgIn(repo.dir, port, "promote", BRANCH);
    expect(other.code).toBe(1);
    expect(other.out).toContain("no fitness report for");
    expect(checkoutState(repo.dir)).toBe(state);

    // A report for the new head, then main moves: refused as stale.
    const head = gitSync(repo.dir, ["rev-parse", BRANCH]).trim();
    writePassingReport(repo.dir, head, BRANCH);
    writeFileSync(join(repo.dir, "NEWS"), "main moved\n");
    gitSync(repo.dir, ["add", "NEWS"]);
    gitSync(repo.dir, ["commit", "--quiet", "-m", "main moves"]);
    state = checkoutState(repo.dir);
    const stale = await orgIn(repo.dir, port, "promote", BRANCH);
    expect(stale.code).toBe(1);
    expect(stale.out).toContain("main moved since the fitness report");
    expect(checkoutState(repo.dir)).toBe(state);

    // Judged again against the new main, but the checkout has an uncommitted change.
    writePassingReport(repo.dir, head, BRANCH);
    writeFileSync(join(repo.dir, "NEWS"), "edited, not committed\n");
    state = checkoutState(repo.dir);
    const dirty = await orgIn(repo.dir, port, "promote", BRANCH);
    expect(dirty.code).toBe(1);
    expect(dirty.out).toContain("not clean");
    expect(checkoutState(repo.dir)).toBe(state);
    expect(liveCurrents(repo.dir)).toEqual([]);
  }, 90_000);

  test("a failing report is refused with its failed check named", async () => {
    using repo = promotionRepo();
    const port = freePort();
    const candidate = makeCandidate(repo.dir, BRANCH, (worktree) => writeTool(worktree, "lower", "x"));
    writePassingReport(repo.dir, candidate, BRANCH, (report) => {
      report.verdict = "fail";
      report.checks = [{ stage: "protected-core", name: "protected core", ok: false, reason: "touches ops/", durationMs: 1 }];
    });
    const state = checkoutState(repo.dir);
    const refused = await orgIn(repo.dir, port, "promote", BRANCH);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain("verdict for");
    expect(refused.out).toContain("touches ops/");
    expect(checkoutState(repo.dir)).toBe(state);
  }, 60_000);

  test("branch names that are options or leave refs/heads/cand/ are refused before any git call", async () => {
    using repo = promotionRepo();
    const port = freePort();
    const state = checkoutState(repo.dir);
    // One through the process (its exit code and output); the others through the command's own run, reported as main does.
    const option = await orgIn(repo.dir, port, "promote", "--upload-pack=touch /tmp/x");
    expect(option.code).toBe(2);
    expect(option.out).toContain("unknown option '--upload-pack'");
    for (const name of ["cand/../main", "main", "cand/20261123T101500Z~1"]) {
      const error = await promoteCommand.run([name, "--repo", repo.dir, "--no-restart"], AbortSignal.timeout(30_000)).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(PromotionRefusedError);
      const report = await failureReport(error);
      expect(report.exitCode).toBe(1);
      expect(report.text).toContain("not a candidate branch name");
    }
    expect(checkoutState(repo.dir)).toBe(state);
  }, 60_000);

  test("a promotion whose current does not come back healthy rolls itself back", async () => {
    using repo = promotionRepo();
    const port = freePort();
    const before = gitSync(repo.dir, ["rev-parse", "main^{tree}"]).trim();
    const candidate = makeCandidate(repo.dir, BRANCH, (worktree) => writeTool(worktree, "breaks_current", "x"));
    writePassingReport(repo.dir, candidate, BRANCH);
    const result = await runOrg(["promote", BRANCH, "--repo", repo.dir, "--health-timeout-s", "3"], { ORG_CURRENT_PORT: String(port) });
    expect(result.out).toContain("ROLLED BACK");
    expect(result.code).toBe(1);
    expect(gitSync(repo.dir, ["rev-parse", "main^{tree}"]).trim()).toBe(before);
    expect(gitSync(repo.dir, ["tag", "--points-at", "main"]).trim()).toMatch(/^rollback\//);
    // The rollback's restart may outlast the 3 s the command waited for it.
    expect(await consistencyProblems(repo.dir, port, { currentMayBeStarting: true })).toEqual([]);
  }, 60_000);

  test("a running promote's lock blocks a second one; a dead holder's lock is taken over", async () => {
    using repo = promotionRepo();
    const port = freePort();
    const candidate = makeCandidate(repo.dir, BRANCH, (worktree) => writeTool(worktree, "lower", "x"));
    writePassingReport(repo.dir, candidate, BRANCH);
    const lock = join(repo.dir, ".org", "promotion.lock");
    writeFileSync(lock, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
    const blocked = await orgIn(repo.dir, port, "promote", BRANCH, "--no-restart");
    expect(blocked.code).toBe(1);
    expect(blocked.out).toContain(`pid ${process.pid}`);
    const dead = Bun.spawnSync(["true"]).pid;
    writeFileSync(lock, JSON.stringify({ pid: dead, startedAt: new Date().toISOString() }));
    const taken = await orgIn(repo.dir, port, "promote", BRANCH, "--no-restart");
    expect({ code: taken.code, out: taken.out }).toMatchObject({ code: 0 });
    expect(existsSync(lock)).toBe(false);
  }, 60_000);
});
