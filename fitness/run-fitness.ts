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
 * The fitness gate: reads the candidate's commit from its /health, then judges exactly that commit against main,
 * cheapest stage first, stopping at the first failure: protected core → generated tools (main's tests for main's
 * tools, the toolsmith's checks again) → the tests the change can reach → scenarios on both instances. Trusts
 * nothing the candidate carries; writes `.org/fitness/<commit>.json` in current's checkout.
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
  let why = "every stage passed";
  try {
    const passed =
      record(await checkProtectedCore(git, base, commit, { allowCore: request.allowCore, signal })) &&
      (await checkGeneratedTools(git, { main, commit, runDir, settings, signal })).every(record) &&
      record(await withFitnessWorktree(git, commit, (worktree) => runReachableTests(worktree, request.bun, request.testsTimeoutMs, signal), signal)) &&
      (await checkScenarios({ ...request.scenarios, candidatePort: request.candidatePort, currentPort: request.currentPort, signal })).every(record);
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
    checks,
    summary,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - started,
  };
  const path = writeFitnessReport(git.repoDir, report);
  return { report, path, exitCode: verdict === "pass" ? 0 : verdict === "fail" ? 1 : 2, why };
}
