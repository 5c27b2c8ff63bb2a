import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CANDIDATE_BRANCH_PATTERN } from "../git/candidate-branch.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { type FitnessCheck, type FitnessReport, writeFitnessReport } from "../git/fitness-report.ts";
import { withFitnessWorktree, pruneStaleFitnessWorktrees } from "./fitness-worktree.ts";
import { readHealth } from "./instance-health.ts";
import { checkProtectedCore } from "./protected-core.ts";
import { runReachableTests } from "./reachable-tests.ts";
import { type ScenarioSettings, checkScenarios } from "./scenarios.ts";
import { checkGeneratedTools } from "./tool-checks.ts";
import { candidateOnMain } from "../git/candidate-rebase.ts";
import { BASELINE_FILE, readBaseline } from "../git/fitness-baseline.ts";
import { checkToolScenarios } from "./tool-scenarios.ts";

/** `git merge-tree --write-tree` of main and the candidate (for a change `--allow-core` let through); throws on conflicts. */
async function mergedTree(git: RepoGit, main: string, commit: string, signal?: AbortSignal): Promise<string> {
  const lines = (await git.run(["merge-tree", "--write-tree", "--end-of-options", main, commit], { signal }).catch((error) => String(error)))
    .split("\n")
    .filter(Boolean);
  if (lines.length !== 1 || !/^[0-9a-f]{40,64}$/.test(lines[0] ?? "")) throw new Error(`it conflicts with main: ${lines.slice(1, 3).join("; ")}`);
  return lines[0] as string;
}

async function treeOf(git: RepoGit, commit: string): Promise<{ judgedTree?: string }> {
  const tree = (await git.run(["rev-parse", "--verify", "--end-of-options", `${commit}^{tree}`]).catch(() => "")).trim();
  return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(tree) ? { judgedTree: tree } : {};
}

export type FitnessRequest = {
  git: RepoGit;
  /** The candidate instance's port: its /health names the commit judged. */
  candidatePort: number;
  /** Current's port, for the scenarios. */
  currentPort: number;
  /** Given on current's side: a reviewed change outside tools/generated/ may pass stage a. */
  allowCore: boolean;
  /** The bun that runs the candidate's tests. */
  bun: string;
  testsTimeoutMs: number;
  scenarios: ScenarioSettings;
  settings?: ToolsmithSettings;
  signal?: AbortSignal;
  /** Each stage as it ends. */
  onCheck?: (check: FitnessCheck) => void;
};

/** What the gate decided; `exitCode` 0 pass, 1 fail, 2 could not judge. `path` is the report written, if any. */
export type FitnessOutcome = { report?: FitnessReport; path?: string; exitCode: 0 | 1 | 2; why: string };

/**
 * The fitness gate: reads the candidate's commit from its /health, then judges exactly that commit against main
 * (a candidate built on an older main: today's main plus its tool folders, so main gaining tools never refuses it),
 * cheapest stage first, stopping at the first failure: protected core → generated tools (main's tests for main's
 * tools, the toolsmith's checks again) → the tests the change can reach → scenarios on both instances. Trusts
 * nothing the candidate carries; writes a signed `.org/fitness/<commit>/<UTC time>.json` in current's checkout.
 */
export async function runFitness(request: FitnessRequest): Promise<FitnessOutcome> {
  const { git, signal } = request;
  const startedAt = new Date();
  const started = performance.now();
  let commit: string;
  try {
    commit = (await readHealth(request.candidatePort, { signal })).commit;
  } catch (error) {
    return { exitCode: 2, why: `could not read the candidate's commit: ${error instanceof Error ? error.message : error}` };
  }
  if (!(await git.resolveCommit(commit))) {
    return { exitCode: 2, why: `the candidate on port ${request.candidatePort} runs ${commit.slice(0, 12)}, which this repository does not have` };
  }
  const main = await git.resolveCommit("refs/heads/main");
  if (!main) return { exitCode: 2, why: `the repository at ${git.repoDir} has no main branch` };
  const base = (await git.run(["merge-base", "--end-of-options", main, commit], { signal }).catch(() => "")).trim();
  if (!base) return { exitCode: 2, why: `${commit.slice(0, 12)} shares no history with main` };
  const branches = (await git.run(["for-each-ref", "--format=%(refname:strip=2)", "--points-at", commit, "refs/heads/cand/"], { signal }))
    .split("\n")
    .filter((name) => CANDIDATE_BRANCH_PATTERN.test(name));
  await pruneStaleFitnessWorktrees(git);

  const checks: FitnessCheck[] = [];
  const record = (check: FitnessCheck) => {
    checks.push(check);
    request.onCheck?.(check);
    return check.ok;
  };
  const settings = request.settings ?? ToolsmithSettings.parse({});
  const runDir = mkdtempSync(join(tmpdir(), "org-fitness-"));
  // The sandbox user must pass through to the tools' folders when org runs as root.
  chmodSync(runDir, 0o755);
  let verdict: FitnessReport["verdict"] = "pass";
  // What the tools and tests stages judge: the candidate itself, or main plus its tools when main moved on.
  let judged = commit;
  const scenarioPasses: Record<string, number> = {};
  // Each tool's examples on both instances, then every count against the baseline promotions have raised.
  const judgeAgainstBaseline = async (): Promise<boolean> => {
    for (const check of checks) {
      if (check.stage === "scenarios" && check.name.startsWith("scenario "))
        scenarioPasses[check.name.slice("scenario ".length)] = check.figures?.candidateOk === true ? 1 : 0;
    }
    const tools = await checkToolScenarios(git, {
      main,
      judged,
      commit,
      candidatePort: request.candidatePort,
      currentPort: request.currentPort,
      ...(request.scenarios.token ? { token: request.scenarios.token } : {}),
      timeoutMs: request.scenarios.timeoutMs,
      ...(signal ? { signal } : {}),
    });
    Object.assign(scenarioPasses, tools.passes);
    if (!tools.checks.every(record)) return false;
    const started = performance.now();
    const baseline = readBaseline(git.repoDir);
    const lower = Object.entries(baseline?.scenarios ?? {})
      .filter(([name, count]) => !tools.skipped.includes(name) && (scenarioPasses[name] ?? 0) < count)
      .map(([name, count]) => `${name}: ${scenarioPasses[name] ?? 0} < ${count}`);
    return record({
      stage: "scenarios",
      name: "baseline",
      ok: lower.length === 0,
      reason: !baseline
        ? `no baseline yet (${BASELINE_FILE} is written by the first promotion)`
        : lower.length === 0
          ? `every one of ${Object.keys(baseline.scenarios).length} scenario count(s) kept or raised`
          : `the candidate lowers the baseline: ${lower.slice(0, 10).join("; ")}`,
      figures: { scenarios: Object.keys(baseline?.scenarios ?? {}).length, lowered: lower.length },
      durationMs: performance.now() - started,
    });
  };
  let why = "every stage passed";
  try {
    const core = await checkProtectedCore(git, base, commit, { allowCore: request.allowCore, signal });
    if (base === commit)
      core.reason = `${commit.slice(0, 12)} is already in main's history (promoted, or promoted and rolled back: 'org candidate rebase ${branches[0] ?? "BRANCH"}' makes a new candidate of it on today's main)`;
    let passed = record(core);
    if (passed && base !== main) {
      // Built on an older main: judge today's main with the candidate's tool folders, never the old tree.
      const started = performance.now();
      try {
        const tree =
          Number(core.figures?.allowedByFlag ?? 0) > 0 ? await mergedTree(git, main, commit, signal) : (await candidateOnMain(git, commit, signal)).tree;
        judged = (
          await git.run(
            ["commit-tree", "-p", main, "-p", commit, "-m", `fitness: ${commit.slice(0, 12)} on main ${main.slice(0, 12)}`, "--end-of-options", tree],
            { signal },
          )
        ).trim();
        record({
          stage: "protected-core",
          name: "judged on today's main",
          ok: true,
          reason: `built on ${base.slice(0, 12)}, main is at ${main.slice(0, 12)}: main plus the candidate's tool folder(s) is judged`,
          durationMs: performance.now() - started,
        });
      } catch (error) {
        passed = record({
          stage: "protected-core",
          name: "judged on today's main",
          ok: false,
          reason: `the candidate cannot be put on today's main (${error instanceof Error ? error.message.split("\n")[0] : error}); rebuild it, or run 'org candidate rebase'`,
          durationMs: performance.now() - started,
        });
      }
    }
    passed =
      passed &&
      (await checkGeneratedTools(git, { main, commit: judged, runDir, settings, signal })).every(record) &&
      record(await withFitnessWorktree(git, judged, (worktree) => runReachableTests(worktree, request.bun, request.testsTimeoutMs, signal), signal)) &&
      (await checkScenarios({ ...request.scenarios, candidatePort: request.candidatePort, currentPort: request.currentPort, signal })).every(record) &&
      (await judgeAgainstBaseline());
    if (!passed) {
      verdict = "fail";
      const failed = checks.find((check) => !check.ok);
      why = `${failed?.stage} failed: ${failed?.name}: ${failed?.reason}`;
    }
  } catch (error) {
    verdict = "error";
    why = `the gate could not finish: ${error instanceof Error ? error.message.split("\n")[0] : error}`;
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
  const summary = [
    `fitness: ${verdict} for ${commit.slice(0, 12)}${branches[0] ? ` (${branches[0]})` : ""} against main ${main.slice(0, 12)}`,
    ...checks.map((check) => `- ${check.ok ? "ok  " : "FAIL"} ${check.stage}: ${check.name}`),
  ].join("\n");
  const report: FitnessReport = {
    version: 1,
    verdict,
    commit,
    ...(branches[0] ? { branch: branches[0] } : {}),
    mainCommit: main,
    mergeBase: base,
    ...(await treeOf(git, judged)),
    checks,
    summary,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - started,
    ...(Object.keys(scenarioPasses).length > 0 ? { scenarioPasses } : {}),
  };
  const path = writeFitnessReport(git.repoDir, report);
  return { report, path, exitCode: verdict === "pass" ? 0 : verdict === "fail" ? 1 : 2, why };
}
