import { chmodSync, rmSync } from "node:fs";
import type { RepoGit } from "../git/repo-git.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { type FitnessCheck, type FitnessReport, writeFitnessReport } from "./fitness-report.ts";
import { pruneStaleFitnessWorktrees } from "./fitness-worktree.ts";
import { readHealth } from "./instance-health.ts";
import { checkProtectedCore } from "./protected-core.ts";
import { judgeReachableTests } from "./reachable-tests-stage.ts";
import { type ScenarioSettings, checkScenarios } from "./scenarios.ts";
import { checkGeneratedTools, judgingCode } from "./tool-checks.ts";
import { candidateOnMain } from "../git/candidate-rebase.ts";
import { BASELINE_FILE, countSetBy, readBaseline, TOOL_SCENARIO_PREFIX } from "./fitness-baseline.ts";
import { toolNamesAt } from "../git/tool-tree.ts";
import { checkToolScenarios, type ToolScenarios } from "./tool-scenarios.ts";
import { checkWorkflowScenarios } from "./workflow-scenarios.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";
import { MAIN_REF } from "../git/ref-names.ts";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";

const firstLine = (error: unknown) => (error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error));

/** `git merge-tree --write-tree` of main and the candidate (for a change `--allow-core` let through); throws on conflicts. */
async function mergedTree(git: RepoGit, main: string, commit: string, signal?: AbortSignal): Promise<string> {
  const merged = await git.mergeTree(main, commit, { signal });
  if ("conflicts" in merged) throw new Error(`it conflicts with main: ${merged.conflicts.slice(0, 2).join("; ")}`);
  return merged.tree;
}

async function treeOf(git: RepoGit, commit: string): Promise<{ judgedTree?: string }> {
  const tree = await git.resolveTree(commit);
  return tree ? { judgedTree: tree } : {};
}

/** What the gate judges and how; the tools' tests and validation run in `sandbox` under `sandboxPolicy`. */
export type FitnessRequest = SandboxAccess & {
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
  /** Validate new and changed tools again even when this checkout's toolsmith recorded the same validation passing. */
  revalidate?: boolean;
  signal?: AbortSignal;
  /** Each stage as it ends. */
  onCheck?: (check: FitnessCheck) => void;
  /** What a slow stage says while it runs (the tests stage's trace: why it is new, how many files are done). */
  onProgress?: (line: string) => void;
  /**
   * A trace of this code already under way in this process (`traceReachableTests`, started beside the build): the
   * tests stage waits for it, then finds its record, rather than tracing the same files at the same time.
   */
  testsTraced?: Promise<unknown>;
};

/** What the gate decided; `exitCode` 0 pass, 1 fail, 2 could not judge. `path` is the report written, if any. */
export type FitnessOutcome = { report?: FitnessReport; path?: string; exitCode: 0 | 1 | 2; why: string };

/** The candidate as the gate found it: the commit its /health names, main, their merge base, the branches at it. */
type Candidate = { commit: string; main: string; base: string; branches: string[] };

// The candidate was seen healthy before the gate was called, so a slow answer is a busy machine, not a verdict: a
// refused port still fails at once, and only a server that never answers costs the whole wait.
const CANDIDATE_HEALTH_TIMEOUT_MS = 15_000;

/** Reads the candidate's commit from its /health and places it against main; an outcome (exit 2) when it cannot. */
async function identifyCandidate(request: FitnessRequest): Promise<Candidate | FitnessOutcome> {
  const { git, signal } = request;
  let commit: string;
  try {
    commit = (await readHealth(request.candidatePort, { timeoutMs: CANDIDATE_HEALTH_TIMEOUT_MS, signal })).commit;
  } catch (error) {
    return { exitCode: 2, why: `could not read the candidate's commit: ${error instanceof Error ? error.message : error}` };
  }
  if (!(await git.resolveCommit(commit))) {
    return { exitCode: 2, why: `the candidate on port ${request.candidatePort} runs ${commit.slice(0, 12)}, which this repository does not have` };
  }
  const main = await git.resolveCommit(MAIN_REF);
  if (!main) return { exitCode: 2, why: `the repository at ${git.repoDir} has no main branch` };
  const base = await git.mergeBase(main, commit, signal);
  if (!base) return { exitCode: 2, why: `${commit.slice(0, 12)} shares no history with main` };
  const branches = (await git.candidateRefs(signal)).refs.filter((ref) => ref.commit === commit).map((ref) => ref.branch);
  return { commit, main, base, branches };
}

/** One gate run's state: the checks in the order the stages come, and what the later stages judge. */
class GateRun {
  readonly checks: FitnessCheck[] = [];
  /** What the tools and tests stages judge: the candidate itself, or main plus its tool folders when main moved on. */
  judged: string;
  readonly scenarioPasses: Record<string, number> = {};
  readonly settings: ToolsmithSettings;
  /** The code judging, told once for the records every stage keeps (`judgingCode`). */
  readonly code = { identity: judgingCode() };

  constructor(
    readonly request: FitnessRequest,
    readonly candidate: Candidate,
    readonly runDir: string,
  ) {
    this.judged = candidate.commit;
    this.settings = request.settings ?? ToolsmithSettings.parse({});
  }

  /** Records a check (in stage order) and says whether it held. */
  record = (check: FitnessCheck): boolean => {
    this.checks.push(check);
    this.request.onCheck?.(check);
    return check.ok;
  };
}

/** Stage a: the protected core on the exact commit; for a candidate built on an older main, the tree that is judged instead. */
async function protectedCoreStage(run: GateRun): Promise<boolean> {
  const { git, signal } = run.request;
  const { commit, main, base, branches } = run.candidate;
  const core = await checkProtectedCore(git, base, commit, { allowCore: run.request.allowCore, signal });
  if (base === commit)
    core.reason =
      `${commit.slice(0, 12)} is already in main's history (promoted, or promoted and rolled ` +
      `back: 'org candidate rebase ${branches[0] ?? "BRANCH"}' makes a new candidate of it on today's main)`;
  if (!run.record(core) || base === main) return core.ok;
  // Built on an older main: judge today's main with the candidate's tool folders, never the old tree.
  const started = performance.now();
  const name = "judged on today's main";
  try {
    const tree =
      Number(core.figures?.allowedByFlag ?? 0) > 0 ? await mergedTree(git, main, commit, signal) : (await candidateOnMain(git, commit, signal)).tree;
    const message = `fitness: ${commit.slice(0, 12)} on main ${main.slice(0, 12)}`;
    run.judged = await git.commitTree(tree, { parents: [main, commit], message, signal });
    const reason = `built on ${base.slice(0, 12)}, main is at ${main.slice(0, 12)}: main plus the candidate's tool folder(s) is judged`;
    return run.record({ stage: "protected-core", name, ok: true, reason, durationMs: performance.now() - started });
  } catch (error) {
    const reason = `the candidate cannot be put on today's main (${firstLine(error)}); rebuild it, or run 'org candidate rebase'`;
    return run.record({ stage: "protected-core", name, ok: false, reason, durationMs: performance.now() - started });
  }
}

/** A stage started early: its result or its error, never an unhandled rejection; `stop` aborts it. */
type Started<T> = { settled: Promise<{ value: T } | { error: unknown }>; stop: () => void };

function startStage<T>(run: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Started<T> {
  const controller = new AbortController();
  const both = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
  const settled = run(both).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return { settled, stop: () => controller.abort() };
}

async function resultOf<T>(stage: Started<T>): Promise<T> {
  const result = await stage.settled;
  if ("error" in result) throw result.error;
  return result.value;
}

/** Each workflow the candidate brings: its examples on both instances, as a tool's are (checks not yet recorded). */
function workflowScenarios(run: GateRun, signal?: AbortSignal) {
  const { request, candidate } = run;
  return checkWorkflowScenarios(request.git, {
    main: candidate.main,
    base: candidate.base,
    commit: candidate.commit,
    candidatePort: request.candidatePort,
    currentPort: request.currentPort,
    ...(request.scenarios.token ? { token: request.scenarios.token } : {}),
    timeoutMs: request.scenarios.timeoutMs,
    ...(signal ? { signal } : {}),
  });
}

/** Each tool's examples on both instances (checks not yet recorded). */
function toolScenarios(run: GateRun, signal: AbortSignal): Promise<ToolScenarios> {
  const { request } = run;
  return checkToolScenarios(request.git, {
    main: run.candidate.main,
    judged: run.judged,
    commit: run.candidate.commit,
    candidatePort: request.candidatePort,
    currentPort: request.currentPort,
    ...(request.scenarios.token ? { token: request.scenarios.token } : {}),
    timeoutMs: request.scenarios.timeoutMs,
    ...(run.code.identity ? { records: { repoDir: request.git.repoDir, gate: run.code.identity, revalidate: request.revalidate ?? false } } : {}),
    signal,
  });
}

/**
 * Every count of the baseline must be met by the candidate's passes, but a tool's count where main has no such tool (a
 * baseline that did not follow a change of main; the candidate cannot drop one of main's tools, the tools stage
 * refuses that). A refusal names the promotion that set each count and the ways on.
 */
async function baselineCheck(run: GateRun, tools: ToolScenarios): Promise<FitnessCheck> {
  const started = performance.now();
  const passes = run.scenarioPasses;
  for (const check of run.checks) {
    if (check.stage === "scenarios" && check.name.startsWith("scenario "))
      passes[check.name.slice("scenario ".length)] = check.figures?.candidateOk === true ? 1 : 0;
  }
  Object.assign(passes, tools.passes);
  const { git, signal } = run.request;
  const baseline = readBaseline(git.repoDir);
  const onMain = await toolNamesAt(git, run.candidate.main, signal);
  const names = Object.keys(baseline?.scenarios ?? {});
  const gone = names.filter((name) => name.startsWith(TOOL_SCENARIO_PREFIX) && !onMain.has(name.slice(TOOL_SCENARIO_PREFIX.length)));
  const lower = Object.entries(baseline?.scenarios ?? {}).filter(
    ([name, count]) => !tools.skipped.includes(name) && !gone.includes(name) && (passes[name] ?? 0) < count,
  );
  const figures = { scenarios: names.length, lowered: lower.length, ...(gone.length > 0 ? { notOnMain: gone } : {}) };
  const result = { stage: "scenarios" as const, name: "baseline", ok: lower.length === 0, figures };
  if (!baseline)
    return { ...result, reason: `no baseline yet (${BASELINE_FILE} is written by the first promotion)`, durationMs: performance.now() - started };
  const ignored = gone.length > 0 ? `; ${gone.length} count(s) of tools main no longer has ignored (${gone.slice(0, 3).join(", ")})` : "";
  if (lower.length === 0) {
    const reason = `every one of ${names.length - gone.length} scenario count(s) kept or raised${ignored}`;
    return { ...result, reason, durationMs: performance.now() - started };
  }
  const listed = lower.slice(0, 10).map(([name, count]) => `${name}: ${passes[name] ?? 0} < ${count}, ${countSetBy(baseline, name).text}`);
  const [firstName = ""] = lower[0] ?? [];
  const setter = countSetBy(baseline, firstName);
  const rollBack = setter.by && !setter.undoneBy ? `roll back the promotion that set the count ('org rollback ${setter.by}') or ` : "";
  const wayOn =
    `it must pass these as main did, and if main itself no longer does, ${rollBack}drop the count ` +
    `('org fitness --drop-baseline "${firstName}"')`;
  const reason = `the candidate lowers the baseline: ${listed.join("; ")}; ${wayOn}${ignored}`;
  return { ...result, reason, durationMs: performance.now() - started };
}

/**
 * Stages b to d after the protected core. Recorded in order and stopping at the first failure as before, but what
 * does not depend on an earlier verdict runs meanwhile on the second core: the tests stage (main's code on a tree
 * that differs only in tool files, which it loads only through the sandbox) beside the tools stage, and each tool's
 * examples over HTTP once the tools stage has found every tool folder well-formed and within the static policy
 * (its first check), beside the tools' tests. The model scenarios, whose latency is judged, run alone.
 * A result that comes after a failure is dropped, so the report is the one the stages in sequence would write.
 */
async function laterStages(run: GateRun): Promise<boolean> {
  const { request } = run;
  const { git, signal } = request;
  const tests = startStage(async (stageSignal) => {
    if (request.testsTraced) {
      request.onProgress?.("waiting for the trace of the tests started beside the build");
      // Not past a stop: a stage dropped after another's failure must end now, not when the trace does.
      await Promise.race([request.testsTraced, new Promise((resolve) => stageSignal.addEventListener("abort", resolve, { once: true }))]);
    }
    return judgeReachableTests(git, run.judged, request.bun, request.testsTimeoutMs, stageSignal, request.onProgress);
  }, signal);
  let tools: Started<ToolScenarios> | undefined;
  try {
    const startExamples = () => {
      tools ??= startStage((stageSignal) => toolScenarios(run, stageSignal), signal);
      return tools;
    };
    const toolChecks = await checkGeneratedTools(git, {
      main: run.candidate.main,
      commit: run.judged,
      runDir: run.runDir,
      settings: run.settings,
      revalidate: request.revalidate ?? false,
      code: run.code,
      onWellFormed: startExamples,
      sandbox: request.sandbox,
      sandboxPolicy: request.sandboxPolicy,
      signal,
    });
    if (!toolChecks.every(run.record)) return false;
    const examplesStage = startExamples();
    if (!run.record(await resultOf(tests))) return false;
    const examples = await resultOf(examplesStage);
    const scenarios = await checkScenarios({ ...request.scenarios, candidatePort: request.candidatePort, currentPort: request.currentPort, signal });
    if (!scenarios.every(run.record) || !examples.checks.every(run.record)) return false;
    if (!(await workflowScenarios(run, signal)).every(run.record)) return false;
    return run.record(await baselineCheck(run, examples));
  } finally {
    // Nothing is left running: a stage dropped after a failure or an abort is stopped and waited for (its worktree removed).
    tests.stop();
    tools?.stop();
    await Promise.all([tests.settled, tools?.settled]);
  }
}

/** The report of a run: verdict, every check, the summary promote puts into the merge message. */
async function reportOf(run: GateRun, verdict: FitnessReport["verdict"], startedAt: Date, started: number): Promise<FitnessReport> {
  const { commit, main, base, branches } = run.candidate;
  const summary = [
    `fitness: ${verdict} for ${commit.slice(0, 12)}${branches[0] ? ` (${branches[0]})` : ""} against main ${main.slice(0, 12)}`,
    ...run.checks.map((check) => `- ${check.ok ? "ok  " : "FAIL"} ${check.stage}: ${check.name}`),
  ].join("\n");
  return {
    version: 1,
    verdict,
    commit,
    ...(branches[0] ? { branch: branches[0] } : {}),
    mainCommit: main,
    mergeBase: base,
    ...(await treeOf(run.request.git, run.judged)),
    checks: run.checks,
    summary,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - started,
    ...(Object.keys(run.scenarioPasses).length > 0 ? { scenarioPasses: run.scenarioPasses } : {}),
  };
}

/**
 * The fitness gate: reads the candidate's commit from its /health, then judges exactly that commit against main
 * (a candidate built on an older main: today's main plus its tool folders, so main gaining tools never refuses it),
 * stopping at the first failure: protected core first and alone, then the later stages, some at once
 * (`laterStages` says which), recorded in the order protected core → generated tools (main's tests for main's
 * tools, the toolsmith's checks again) → the tests the change can reach → scenarios on both instances. Trusts
 * nothing the candidate carries; writes a signed `.org/fitness/<commit>/<UTC time>.json` in current's checkout.
 */
export async function runFitness(request: FitnessRequest): Promise<FitnessOutcome> {
  // A candidate's code is judged in the sandbox only, as the toolsmith validates it there only.
  if (!request.sandboxPolicy.enabled) {
    return {
      exitCode: 2,
      why: "the gate runs a candidate's code only in the sandbox, and ORG_SANDBOX=off turned it off; unset ORG_SANDBOX and judge it again",
    };
  }
  const startedAt = new Date();
  const started = performance.now();
  const candidate = await identifyCandidate(request);
  if ("exitCode" in candidate) return candidate;
  await pruneStaleFitnessWorktrees(request.git);
  const runDir = ownedTempDir("fitness");
  // The sandbox user must pass through to the tools' folders when org runs as root.
  chmodSync(runDir, 0o755);
  const run = new GateRun(request, candidate, runDir);
  const judged = candidate.branches[0] ?? candidate.commit.slice(0, 12);
  publishWorkspaceEvent(request.git.repoDir, { type: "gate-started", branch: judged });
  let verdict: FitnessReport["verdict"] = "pass";
  let why = "every stage passed";
  try {
    // A baseline this checkout's gate did not sign stops the gate (exit 2) at its last check: found now, before the
    // stages' minutes rather than after them. The check reads it again, as main's promotions may have moved it.
    readBaseline(request.git.repoDir);
    if (!((await protectedCoreStage(run)) && (await laterStages(run)))) {
      verdict = "fail";
      const failed = run.checks.find((check) => !check.ok);
      why = `${failed?.stage} failed: ${failed?.name}: ${failed?.reason}`;
    }
  } catch (error) {
    verdict = "error";
    why = `the gate could not finish: ${firstLine(error)}`;
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
  const report = await reportOf(run, verdict, startedAt, started);
  const path = writeFitnessReport(request.git.repoDir, report);
  publishWorkspaceEvent(request.git.repoDir, { type: "gate-finished", branch: judged, verdict });
  return { report, path, exitCode: verdict === "pass" ? 0 : verdict === "fail" ? 1 : 2, why };
}
