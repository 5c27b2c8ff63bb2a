import { describe, expect, test } from "bun:test";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BASELINE_FILE, followPromotion, readBaseline } from "./fitness-baseline.ts";
import { judgeCandidate, makeCandidate, promotionRepo, runOrg, writeFixtureTool } from "../testing/promotion-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { CLAMP, SLUGIFY, SUM, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";

// The gate's scenarios stage on throw-away repositories with stand-in instances (testing/fake-current-server.ts):
// each tool's examples on both instances, the baseline, and the model scenarios' latency. The other stages are
// run-fitness.test.ts's; the files run at once, and so do these tests (each with a repository, ports and instances of
// its own): they mostly wait on the stand-ins' answers.
// A runner change that breaks main's tool over HTTP, though every test of the tool still passes, is refused in
// run-fitness.test.ts's "signed records" case (against current's record) and in the two-at-a-time case below (one tool
// broken, against current's live answers).
const BRANCH = "cand/20261123T101500Z";
const examplesOf = (fixture: { spec: { examples?: unknown } }) => (fixture.spec.examples as unknown[]).length;

describe.concurrent("the fitness gate's scenarios on throw-away repositories", () => {
  test("each tool's examples run on both instances; promotion raises the baseline; a candidate that lowers a count is refused; " +
    "a count of a tool main no longer has refuses no candidate", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    const candidate = makeCandidate(repo.dir, BRANCH, (worktree) => writeFixtureTool(worktree, CLAMP));
    const verdict = await judgeCandidate(repo.dir, BRANCH);
    expect(verdict.code).toBe(0);
    const examples = examplesOf(WORD_COUNT);
    expect(verdict.report?.checks.find((check) => check.name === `tool ${WORD_COUNT.spec.name}`)?.figures).toMatchObject({
      candidatePasses: examples,
      currentPasses: examples,
    });
    expect(verdict.report?.scenarioPasses).toEqual({
      echo: 1,
      [`tool ${WORD_COUNT.spec.name}`]: examples,
      [`tool ${CLAMP.spec.name}`]: examplesOf(CLAMP),
    });
    expect(verdict.report?.checks.find((check) => check.name === "baseline")?.reason).toContain("no baseline yet");
    const promoted = await runOrg(["promote", BRANCH, "--repo", repo.dir, "--no-restart"], {});
    expect(promoted.code).toBe(0);
    expect(promoted.out).toContain("baseline: 3 scenario count(s)");
    const baseline = readBaseline(repo.dir);
    expect(baseline?.scenarios).toEqual(verdict.report?.scenarioPasses as Record<string, number>);
    expect(statSync(join(repo.dir, BASELINE_FILE)).mode & 0o777).toBe(0o600);
    expect(candidate).toMatch(/^[0-9a-f]{40}$/);

    // The next candidate: judged against the baseline; a count it cannot reach refuses it.
    makeCandidate(repo.dir, "cand/20261123T101600Z", (worktree) => writeFixtureTool(worktree, SLUGIFY));
    const raisedBy = "promote/20261123T120000Z";
    const main = gitSync(repo.dir, ["rev-parse", "main"]).trim();
    followPromotion(repo.dir, {
      tag: raisedBy,
      branch: "cand/20261123T115900Z",
      merge: main,
      // And a count of a tool main no longer has (a baseline that did not follow a change of main): it refuses no
      // candidate.
      passes: { [`tool ${CLAMP.spec.name}`]: examplesOf(CLAMP) + 1, "tool vowel_count": 3 },
    });
    const lowered = await judgeCandidate(repo.dir, "cand/20261123T101600Z");
    expect(lowered.code).toBe(1);
    expect(lowered.failed?.name).toBe("baseline");
    // clamp's examples all passed on the candidate that brought it: on current, which now serves the same files with
    // the same code and settings, that record stands for them, as it does on this candidate.
    expect(lowered.report?.checks.find((check) => check.name === `tool ${CLAMP.spec.name}`)?.figures).toMatchObject({
      recorded: ["candidate", "current"],
      currentPasses: examplesOf(CLAMP),
    });
    // The refusal names the promotion that set the count and the ways on.
    expect(lowered.failed?.reason).toContain(
      `tool ${CLAMP.spec.name}: ${examplesOf(CLAMP)} < ${examplesOf(CLAMP) + 1}, set by ${raisedBy} (cand/20261123T115900Z); it must pass these as main did, and if main itself no longer does, roll back the promotion that set the count ('org rollback ${raisedBy}') or drop the count ('org fitness --drop-baseline "tool ${CLAMP.spec.name}"')`,
    );
    // A person drops the count: the baseline is re-signed without it, and the candidate passes.
    const dropped = await runOrg(["fitness", "--drop-baseline", `tool ${CLAMP.spec.name}`, "--repo", repo.dir], {});
    expect(dropped.out).toContain(`dropped tool ${CLAMP.spec.name} from ${BASELINE_FILE} (it was ${examplesOf(CLAMP) + 1}, set by ${raisedBy}`);
    expect(dropped.code).toBe(0);
    expect(readBaseline(repo.dir)?.reason).toBe(`dropped by hand: tool ${CLAMP.spec.name}`);
    const unknown = await runOrg(["fitness", "--drop-baseline", "no such", "--repo", repo.dir], {});
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain(`has no count named "no such"; it counts "echo", "tool ${WORD_COUNT.spec.name}", "tool vowel_count"`);
    const passed = await judgeCandidate(repo.dir, "cand/20261123T101600Z");
    expect({ code: passed.code, failed: passed.failed?.reason }).toEqual({ code: 0, failed: undefined });
    const check = passed.report?.checks.find((entry) => entry.name === "baseline");
    expect(check?.reason).toBe("every one of 2 scenario count(s) kept or raised; 1 count(s) of tools main no longer has ignored (tool vowel_count)");
    expect(check?.figures).toMatchObject({ notOnMain: ["tool vowel_count"] });
    // A baseline written by hand is not trusted: the gate cannot judge with it.
    writeFileSync(join(repo.dir, BASELINE_FILE), JSON.stringify({ ...baseline, scenarios: {} }));
    const forged = await judgeCandidate(repo.dir, "cand/20261123T101600Z");
    expect(forged.code).toBe(2);
    expect(forged.out).toContain("was not written by this checkout's gate");
    // Found before any stage ran, not after all of them.
    expect(forged.report?.checks).toEqual([]);
  }, 240_000);

  test("a good candidate (a new tool) passes every stage and is promoted; " +
    "a rollback takes back what its promotion set: the baseline follows main, re-signed, and a fresh good candidate passes", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    makeCandidate(repo.dir, BRANCH, (worktree) => writeFixtureTool(worktree, CLAMP));
    const judged = await judgeCandidate(repo.dir, BRANCH);
    expect(judged.out).toContain("verdict: pass");
    expect(judged.code).toBe(0);
    expect(judged.report?.verdict).toBe("pass");
    expect(judged.report?.checks.map((check) => check.stage)).toEqual([
      "protected-core",
      "tools",
      "tools",
      "tools",
      "tests",
      "scenarios",
      "scenarios",
      "scenarios",
      "scenarios",
      "scenarios",
    ]);
    expect(judged.report?.checks.find((check) => check.name.startsWith(String(CLAMP.spec.name)))?.figures?.mutantsKilled).toBeGreaterThan(0);
    // No fitness worktree is left behind.
    expect(gitSync(repo.dir, ["worktree", "list"]).trim().split("\n")).toHaveLength(1);
    const promoted = await runOrg(["promote", BRANCH, "--repo", repo.dir, "--no-restart"], {});
    expect(promoted.out).toContain(`promoted ${BRANCH}`);
    expect(promoted.code).toBe(0);
    expect(gitSync(repo.dir, ["log", "-1", "--format=%B", "main"])).toContain("fitness: pass");
    const promotion = /\(tag (promote\/\S+)\)/.exec(promoted.out)?.[1];
    expect(readBaseline(repo.dir)?.scenarios).toEqual({
      echo: 1,
      [`tool ${WORD_COUNT.spec.name}`]: examplesOf(WORD_COUNT),
      [`tool ${CLAMP.spec.name}`]: examplesOf(CLAMP),
    });

    const rolled = await runOrg(["rollback", "--repo", repo.dir, "--no-restart"], {});
    expect(rolled.code).toBe(0);
    const rollback = /\(tag (rollback\/\S+)\)/.exec(rolled.out)?.[1];
    // The counts the promotion could have changed go (its tool, the model scenario); word_count's, measured from its own folder, stays.
    expect(rolled.out).toContain(
      `baseline: 1 scenario count(s) in ${BASELINE_FILE}; ${rollback} undid ${promotion}, so it withdrew echo (was 1), tool ${CLAMP.spec.name} (was ${examplesOf(CLAMP)})`,
    );
    const baseline = readBaseline(repo.dir);
    expect(baseline).toMatchObject({
      scenarios: { [`tool ${WORD_COUNT.spec.name}`]: examplesOf(WORD_COUNT) },
      mainCommit: gitSync(repo.dir, ["rev-parse", "main"]).trim(),
      reason: `${rollback} undid ${promotion}`,
    });

    // A fresh candidate on main as it is now passes; the one rolled back would have been required before.
    const fresh = "cand/20261123T101600Z";
    makeCandidate(repo.dir, fresh, (worktree) => writeFixtureTool(worktree, SLUGIFY));
    const verdict = await judgeCandidate(repo.dir, fresh);
    expect({ code: verdict.code, failed: verdict.failed?.reason }).toEqual({ code: 0, failed: undefined });
    expect(verdict.report?.checks.find((check) => check.name === "baseline")?.reason).toBe("every one of 1 scenario count(s) kept or raised");
  }, 240_000);

  test("the tools' examples run two tools at a time, yet the report is that of one after another, cut at the first miss", async () => {
    using repo = promotionRepo([CLAMP, SLUGIFY, WORD_COUNT]);
    makeCandidate(repo.dir, BRANCH, (worktree) => writeFixtureTool(worktree, SUM));
    // The candidate's instance breaks slugify alone: clamp_number before it passes, sum_numbers and word_count after it
    // may well have run beside it, but a report of one check after another ends at slugify.
    const verdict = await judgeCandidate(repo.dir, BRANCH, [], { FAKE_BROKEN_TOOL: String(SLUGIFY.spec.name) });
    expect(verdict.code).toBe(1);
    expect(verdict.failed?.name).toBe(`tool ${SLUGIFY.spec.name}`);
    expect(verdict.failed?.reason).toContain("fewer than current's");
    const toolChecks = verdict.report?.checks
      .filter((check) => check.stage === "scenarios" && check.name.startsWith("tool "))
      .map((check) => `${check.name} ${check.ok}`);
    expect(toolChecks).toEqual([`tool ${CLAMP.spec.name} true`, `tool ${SLUGIFY.spec.name} false`]);
    expect(verdict.report?.checks.at(-1)?.name).toBe(`tool ${SLUGIFY.spec.name}`);
  }, 120_000);

  test("refused: a candidate that slows a scenario past the margin", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    makeCandidate(repo.dir, BRANCH, (worktree) => writeFixtureTool(worktree, CLAMP, { name: "slow_tool" }));
    const verdict = await judgeCandidate(repo.dir, BRANCH);
    // The gate's whole output on failure, so a surprise says what the gate saw.
    expect({ code: verdict.code, out: verdict.code === 1 ? "" : verdict.out }).toEqual({ code: 1, out: "" });
    expect(verdict.failed?.stage).toBe("scenarios");
    expect(verdict.failed?.reason).toContain("over the limit");
    expect(Number(verdict.failed?.figures?.candidateMs)).toBeGreaterThan(Number(verdict.failed?.figures?.limitMs));
  }, 120_000);
});
