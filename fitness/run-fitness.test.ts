import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../testing/free-port.ts";
import { judgeCandidate, makeCandidate, promotionRepo, runOrg, writeFixtureTool } from "../testing/promotion-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { CLAMP, SLUGIFY, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { RepoGit } from "../git/repo-git.ts";
import { type FitnessCheck, latestReport, storedReports } from "./fitness-report.ts";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { toolMetadataSchemas } from "../generated-tools/tool-metadata.ts";
import { splitExamples } from "../toolsmith/split-examples.ts";
import { recordValidation } from "./validation-record.ts";
import { pruneStaleFitnessWorktrees } from "./fitness-worktree.ts";
import { runFitness } from "./run-fitness.ts";
import { defaultGateOptions } from "./gate-defaults.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const BRANCH = "cand/20261123T101500Z";
const examplesOf = (fixture: { spec: { examples?: unknown } }) => (fixture.spec.examples as unknown[]).length;

// Each test has a repository, ports and instances of its own, and much of its time is spent waiting on org processes:
// they run at once.
// A good candidate passing every stage and then promoted is run-fitness.scenarios.test.ts's rollback case, which
// judges and promotes one before it rolls it back.
describe.concurrent("the fitness gate on throw-away repositories", () => {
  test("signed records of passes stand for the very same runs: the toolsmith's validation, the gate's own tool tests; other files or --revalidate run them", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    makeCandidate(repo.dir, BRANCH, (worktree) => writeFixtureTool(worktree, CLAMP));
    const spec = toolMetadataSchemas().ToolSpec.parse(CLAMP.spec);
    const settings = ToolsmithSettings.parse({});
    const validated = { spec, heldOut: splitExamples(spec, settings.heldOutShare).heldOut, toolCode: CLAMP.tool, testCode: CLAMP.tests, settings };
    // Figures no run of the gate would give, so the check shows which one it reports.
    const report = {
      ok: true,
      stages: [],
      tests: { passed: 1, failed: 0 },
      coverage: 0.9,
      mutants: { total: 10, killed: 7, score: 0.7 },
      heldOutExamples: 1,
      determinismRuns: 3,
    };
    expect(recordValidation(repo.dir, validated, report)).toBe(true);
    const validation = (verdict: { report?: { checks: FitnessCheck[] } }) =>
      verdict.report?.checks.find((check) => check.name === `${spec.name}: toolsmith validation again`);

    const toolTests = (verdict: { report?: { checks: FitnessCheck[] } }) =>
      verdict.report?.checks.find((check) => check.name === "every tool's tests (main's tests for main's tools)")?.figures;
    const toolScenario = (verdict: { report?: { checks: FitnessCheck[] } }, name: string) =>
      verdict.report?.checks.find((check) => check.name === `tool ${name}`);
    const recorded = await judgeCandidate(repo.dir, BRANCH);
    expect(recorded.code).toBe(0);
    // No gate ran before: main's tool's tests ran (and are now recorded); the candidate's ran in the toolsmith's
    // recorded validation of the very same files, which stands for them.
    expect(toolTests(recorded)).toMatchObject({ ran: [WORD_COUNT.spec.name], recorded: [], validated: [spec.name] });
    expect(toolScenario(recorded, String(WORD_COUNT.spec.name))?.figures?.recorded).toBeUndefined();
    expect(validation(recorded)?.reason).toStartWith("recorded: this code passed the same validation of these files");
    expect(validation(recorded)?.figures).toMatchObject({ recorded: true, mutantsKilled: 7, testsPassed: 1 });

    const revalidated = await judgeCandidate(repo.dir, BRANCH, ["--revalidate"]);
    expect(revalidated.code).toBe(0);
    expect(validation(revalidated)?.reason).toStartWith("policy, typecheck, tests, mutants");
    expect(validation(revalidated)?.figures?.recorded).toBeUndefined();
    expect(validation(revalidated)?.figures?.testsPassed).toBeGreaterThan(1);
    expect(toolTests(revalidated)).toMatchObject({ ran: [spec.name, WORD_COUNT.spec.name].sort(), recorded: [] });
    expect(toolScenario(revalidated, String(WORD_COUNT.spec.name))?.figures?.recorded).toBeUndefined();

    // The same tool with one more line: the record is not for these files, so the gate validates them itself.
    const other = "cand/20261123T101600Z";
    makeCandidate(repo.dir, other, (worktree) => writeFixtureTool(worktree, CLAMP, { tool: `${CLAMP.tool}// edited\n` }));
    const edited = await judgeCandidate(repo.dir, other);
    expect(edited.code).toBe(0);
    expect(validation(edited)?.reason).toStartWith("policy, typecheck, tests, mutants");
    expect(validation(edited)?.figures?.recorded).toBeUndefined();
    // word_count is main's, unchanged: its tests passed with these files and this code before, and so did its examples
    // on both instances, which run the same code set up as they were. clamp's code is new.
    expect(toolTests(edited)).toMatchObject({ ran: [spec.name], recorded: [WORD_COUNT.spec.name] });
    expect(toolScenario(edited, String(WORD_COUNT.spec.name))?.reason).toContain("every example passed on candidate and current as recorded");
    expect(toolScenario(edited, String(WORD_COUNT.spec.name))?.figures).toMatchObject({
      recorded: ["candidate", "current"],
      candidatePasses: examplesOf(WORD_COUNT),
      currentPasses: examplesOf(WORD_COUNT),
    });
    expect(toolScenario(edited, spec.name)?.figures?.recorded).toBeUndefined();
    expect(edited.report?.scenarioPasses?.[`tool ${WORD_COUNT.spec.name}`]).toBe(examplesOf(WORD_COUNT));

    // A candidate instance set up otherwise (its /health names other settings: here a runner that breaks old tools)
    // meets no record: word_count's examples run on it again, and the break is caught against current's record.
    const otherwise = await judgeCandidate(repo.dir, other, [], { FAKE_BROKEN_RUNNER: "1" });
    expect(otherwise.code).toBe(1);
    expect(otherwise.failed?.name).toBe(`tool ${WORD_COUNT.spec.name}`);
    expect(otherwise.failed?.reason).toContain("fewer than current's");
    // clamp's validation of these files passed in the gate's run before: its own signed record stands for it now.
    expect(validation(otherwise)?.reason).toStartWith("recorded: this code passed the same validation of these files");
    expect(validation(otherwise)?.figures).toMatchObject({ recorded: true, testsPassed: validation(edited)?.figures?.testsPassed });
  }, 180_000);

  test("a stale candidate (main gained another tool since it was built) is judged on today's main, passes, is promoted, and a second run keeps the first report", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    const candidate = makeCandidate(repo.dir, BRANCH, (worktree) => writeFixtureTool(worktree, CLAMP));
    // Another tool is promoted meanwhile (a merge on main, as promote makes).
    makeCandidate(repo.dir, "cand/20261123T101400Z", (worktree) => writeFixtureTool(worktree, SLUGIFY));
    gitSync(repo.dir, ["merge", "--quiet", "--no-ff", "-m", "promote slugify", "cand/20261123T101400Z"]);
    const main = gitSync(repo.dir, ["rev-parse", "main"]).trim();
    const verdict = await judgeCandidate(repo.dir, BRANCH);
    // Whole answers are compared, so a failure shows what the gate said.
    expect({ code: verdict.code, out: verdict.out }).toMatchObject({ code: 0, out: expect.stringContaining("verdict: pass") });
    expect(verdict.report?.mainCommit).toBe(main);
    expect(verdict.report?.checks.find((check) => check.name === "judged on today's main")).toMatchObject({ ok: true });
    // main's new tool was judged beside the candidate's, not counted as deleted.
    expect(verdict.report?.checks.find((check) => check.name === "tool files, metadata hashes, static policy")?.reason).toContain(
      `3 tool(s) well-formed; changed: ${CLAMP.spec.name}`,
    );
    const first = latestReport(repo.dir, candidate)?.path;
    const again = await judgeCandidate(repo.dir, BRANCH);
    expect({ code: again.code, out: again.out }).toMatchObject({ code: 0 });
    // The first run's validation of clamp passed and was recorded: the second takes the record.
    expect(again.report?.checks.find((check) => check.name === `${CLAMP.spec.name}: toolsmith validation again`)).toMatchObject({
      figures: { recorded: true },
    });
    expect(storedReports(repo.dir, candidate).map((entry) => entry.path)).toContain(first as string);
    expect(storedReports(repo.dir, candidate)).toHaveLength(2);
    const promoted = await runOrg(["promote", BRANCH, "--repo", repo.dir, "--no-restart"], {});
    expect(promoted).toMatchObject({ code: 0, out: expect.stringContaining(`promoted ${BRANCH}`) });
    expect(gitSync(repo.dir, ["ls-tree", "--name-only", "main:tools/generated"]).trim().split("\n")).toEqual(
      [CLAMP.spec.name, SLUGIFY.spec.name, WORD_COUNT.spec.name].map(String).sort(),
    );
  }, 180_000);

  test("refused: a candidate that breaks a promoted tool, even when it edits that tool's tests to match", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    const broken = WORD_COUNT.tool.replace("trimmed.split(/\\s+/).length", "trimmed.split(/\\s+/).length + 1");
    expect(broken).not.toBe(WORD_COUNT.tool);
    const tests = `import { expect, test } from "bun:test";\nimport wordCount from "./tool.ts";\ntest("one", () => expect(wordCount({ text: "a" })).toEqual({ words: 2 }));\n`;
    makeCandidate(repo.dir, BRANCH, (worktree) => writeFixtureTool(worktree, WORD_COUNT, { tool: broken, tests }));
    const verdict = await judgeCandidate(repo.dir, BRANCH);
    expect(verdict.code).toBe(1);
    expect(verdict.failed?.stage).toBe("tools");
    expect(verdict.failed?.reason).toContain("word_count");
    expect(verdict.out).toContain("verdict: fail");
  }, 120_000);

  test("refused, naming why: deleting a tool, touching the core, a symlink, an executable, a shipped log, lying metadata", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    const cases: [string, (worktree: string) => void, string, string][] = [
      [
        "cand/20261123T101501Z",
        (w) => rmSync(join(w, "tools/generated/word_count"), { recursive: true }),
        "protected-core",
        "deletes a generated tool's file",
      ],
      [
        "cand/20261123T101502Z",
        (w) => writeFileSync(join(w, "ops/start-current.sh"), "echo owned\n"),
        "protected-core",
        '"ops/start-current.sh" is outside tools/generated/',
      ],
      ["cand/20261123T101503Z", (w) => symlinkSync("/etc/passwd", join(w, "tools/generated/word_count/data.txt")), "protected-core", "is a symlink"],
      [
        "cand/20261123T101504Z",
        (w) => {
          writeFileSync(join(w, "tools/generated/word_count/run.sh"), "#!/bin/sh\n", { mode: 0o755 });
        },
        "protected-core",
        "is executable",
      ],
      [
        "cand/20261123T101506Z",
        (w) => writeFileSync(join(w, "tools/generated/word_count/test-results.log"), "42 pass, 0 fail\n"),
        "tools",
        "must hold exactly metadata.json, tool.test.ts, tool.ts",
      ],
      [
        "cand/20261123T101505Z",
        (w) => writeFileSync(join(w, "tools/generated/word_count/tool.ts"), `${WORD_COUNT.tool}// changed without new hashes\n`),
        "tools",
        "hashes do not match",
      ],
    ];
    // The gate in this process, as `org fitness` runs it: each refusal comes before any instance is asked more than
    // its /health, so one stand-in answers it, naming the commit judged. The exit status of a refusal through the
    // command is the case above's.
    let commit = "";
    using candidate = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ ok: true, commit }) });
    const gate = (options: { allowCore?: boolean; signal?: AbortSignal; onCheck?: (check: FitnessCheck) => void } = {}) =>
      runFitness({
        ...testSandboxAccess(),
        ...defaultGateOptions(repo.dir),
        git: new RepoGit(repo.dir),
        candidatePort: Number(candidate.port),
        // Asked only in the scenarios, which no refusal here reaches.
        currentPort: freePort(),
        ...options,
      });
    for (const [branch, change, stage, reason] of cases) {
      commit = makeCandidate(repo.dir, branch, change);
      const verdict = await gate();
      const failed = verdict.report?.checks.find((check) => !check.ok);
      expect({ branch, code: verdict.exitCode, stage: failed?.stage as string }).toEqual({ branch, code: 1, stage });
      expect(failed?.reason).toContain(reason);
      expect(latestReport(repo.dir, commit)?.report.verdict).toBe("fail");
    }
    // --allow-core, given on current's side, lets a reviewed core change through the first stage (the rest of that
    // gate is not this case's: it is stopped there).
    commit = gitSync(repo.dir, ["rev-parse", "cand/20261123T101502Z"]).trim();
    const stop = new AbortController();
    const allowed = await gate({ allowCore: true, signal: stop.signal, onCheck: () => stop.abort() });
    expect(allowed.report?.checks[0]).toMatchObject({ stage: "protected-core", ok: true });
    expect(allowed.report?.checks[0]?.reason).toContain("allowed by --allow-core");
  }, 120_000);

  test("a hostile /health (an option for a commit, a commit the repository lacks) cannot be judged: exit 2, no git call with it", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    // The gate in this process, as `org fitness` runs it; the next case reads such an answer through the command.
    for (const commit of ["--output=/tmp/owned", "a".repeat(40)]) {
      using server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ ok: true, commit }) });
      const result = await runFitness({
        ...testSandboxAccess(),
        ...defaultGateOptions(repo.dir),
        git: new RepoGit(repo.dir),
        candidatePort: Number(server.port),
        currentPort: freePort(),
      });
      expect({ commit, code: result.exitCode, report: result.report }).toEqual({ commit, code: 2, report: undefined });
      expect(result.why).toMatch(/without a usable commit|does not have/);
    }
    expect(existsSync(join(repo.dir, ".org", "fitness"))).toBe(false);
  }, 60_000);

  test("a candidate slow to answer /health (a busy machine) is still identified, not timed out", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    const commit = "b".repeat(40);
    // Past readHealth's own 3 s default: the gate's read waits longer for a candidate it was told is up.
    using server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Bun.sleep(3_500).then(() => Response.json({ ok: true, commit })) });
    const result = await runOrg(["fitness", String(server.port), "--repo", repo.dir], {});
    expect(result.code).toBe(2);
    expect(result.out).toContain("which this repository does not have");
    expect(result.out).not.toContain("timed out");
  }, 60_000);

  test("a worktree left by a killed gate (locked by a dead pid) is removed by the next; a live gate's is kept", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    const git = new RepoGit(repo.dir);
    mkdirSync(join(repo.dir, ".org", "worktrees"), { recursive: true });
    const dead = Bun.spawnSync(["true"]).pid;
    const stale = join(repo.dir, ".org", "worktrees", `fitness-${dead}-0000`);
    const live = join(repo.dir, ".org", "worktrees", `fitness-${process.pid}-1111`);
    for (const [path, pid] of [
      [stale, dead],
      [live, process.pid],
    ] as const) {
      gitSync(repo.dir, ["worktree", "add", "--quiet", "--detach", path, "main"]);
      gitSync(repo.dir, ["worktree", "lock", "--reason", `org fitness pid ${pid}`, path]);
    }
    expect(await pruneStaleFitnessWorktrees(git)).toEqual([stale]);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(gitSync(repo.dir, ["worktree", "list"])).not.toContain(stale);
  }, 60_000);

  test("the toolsmith thresholds come from org.config.json of current's checkout: a bad one stops the gate, naming the key", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    writeFileSync(join(repo.dir, "org.config.json"), JSON.stringify({ toolsmith: { coverage: 2 } }));
    gitSync(repo.dir, ["add", "org.config.json"]);
    gitSync(repo.dir, ["commit", "--quiet", "-m", "thresholds"]);
    const candidate = makeCandidate(repo.dir, BRANCH, (worktree) => writeFixtureTool(worktree, CLAMP));
    // The config is read before any instance is asked: none needs to run.
    const verdict = await runOrg(["fitness", String(freePort()), "--repo", repo.dir], {});
    expect(verdict.code).toBe(2);
    expect(verdict.out).toContain("toolsmith.coverage");
    expect(latestReport(repo.dir, candidate)).toBeUndefined();
    expect(existsSync(join(repo.dir, ".org", "fitness"))).toBe(false);
  }, 60_000);

  test("ORG_SANDBOX=off: the gate judges nothing, since it runs a candidate's code only in the sandbox (exit 2, no report)", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    const result = await runOrg(["fitness", String(freePort()), "--repo", repo.dir], { ORG_SANDBOX: "off" });
    expect(result.code).toBe(2);
    expect(result.out).toContain("the gate runs a candidate's code only in the sandbox, and ORG_SANDBOX=off turned it off");
    expect(existsSync(join(repo.dir, ".org", "fitness"))).toBe(false);
  }, 60_000);

  test("no candidate answering on the port: exit 2 and why, no report", async () => {
    using repo = promotionRepo([WORD_COUNT]);
    const port = freePort();
    const result = await runOrg(["fitness", String(port), "--repo", repo.dir], {});
    expect(result.code).toBe(2);
    expect(result.out).toContain("could not read the candidate's commit");
    // What to do next: nothing can serve a candidate of a repository that is no org checkout; an org checkout's launcher can.
    expect(result.out).toContain(
      `nothing can serve a candidate of ${repo.dir}: it is not a checkout of org (it has no bin/org, package.json); --repo takes an org checkout`,
    );
    mkdirSync(join(repo.dir, "bin"));
    writeFileSync(join(repo.dir, "bin", "org"), "#!/bin/sh\n");
    writeFileSync(join(repo.dir, "package.json"), "{}\n");
    const hinted = await runOrg(["fitness", String(port), "--repo", repo.dir], {});
    expect(hinted.code).toBe(2);
    expect(hinted.out).toContain(`start the candidate first: ${join(repo.dir, "bin", "org")} instance start candidate [BRANCH]`);
    expect(existsSync(join(repo.dir, ".org", "fitness"))).toBe(false);
  }, 60_000);
});
