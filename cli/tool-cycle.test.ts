import { expect, test } from "bun:test";
import { makeCandidate, promotionRepo, runOrg, writePassingReport, writeTool } from "../testing/promotion-fixture.ts";
import { stageSummary } from "./tool-cycle.ts";

const BRANCH = "cand/20261123T101500Z";

test("the promote stage says what promote printed it promoted as what, with the baseline line after it", async () => {
  using repo = promotionRepo();
  const commit = makeCandidate(repo.dir, BRANCH, (worktree) => writeTool(worktree, "lower", "x"));
  writePassingReport(repo.dir, commit, BRANCH, (report) => {
    report.scenarioPasses = { echo: 1 };
  });
  const promoted = await runOrg(["promote", BRANCH, "--no-restart", "--repo", repo.dir], {});
  expect(promoted.code).toBe(0);
  const summary = stageSummary(promoted.out.split("\n"), 0);
  expect(summary.detail).toMatch(new RegExp(`^promoted ${BRANCH} as [0-9a-f]{12} \\(tag promote/\\d{8}T\\d{6}Z\\); main was [0-9a-f]{12}$`));
  expect(summary.more).toBe("baseline: 1 scenario count(s) in .org/fitness/baseline.json, none lowered");
}, 60_000);

test("the fitness stage says the verdict and keeps the report's path; instance start drops the role it repeats", () => {
  const gate = stageSummary(["fitness of abc", "ok    tools  …", "verdict: pass — every stage passed", "report: /r/.org/fitness/abc/1.json"], 0);
  expect(gate).toEqual({ detail: "verdict: pass — every stage passed", reportPath: "/r/.org/fitness/abc/1.json" });
  expect(stageSummary(["candidate: started; healthy at http://127.0.0.1:7002", "  attach: tmux attach -t org"], 0)).toEqual({
    detail: "started; healthy at http://127.0.0.1:7002",
  });
  expect(stageSummary([], 3)).toEqual({ detail: "exit status 3" });
});
