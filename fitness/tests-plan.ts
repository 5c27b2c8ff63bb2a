import type { gateTestEnvironment } from "../config/environment.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { knownVerdicts, readShippedTrace, type TraceContext, traceContext, type Verdict, writeVerdicts } from "./folder-readers.ts";
import { workingStrace } from "./folder-trace.ts";
import type { Reachable } from "./reachable-tests.ts";
import { rerunFailedAlone, runTestProcess, TEST_PROCESSES, type TestRunner } from "./run-test-process.ts";
import { runTraced, treeStatesAt } from "./run-traced.ts";
import { dealByDuration, recordedDurations } from "./test-durations.ts";
import { failedRun, type TestRun } from "./test-run-output.ts";
import type { TreeStates } from "./trace-dependencies.ts";

/**
 * Where the tests stage may keep what a trace found: the repository whose gate runs, and the commit judged;
 * `shippedFrom`, the checkout whose shipped trace may stand (org's own when not given).
 */
export type ReadersRecord = { git: RepoGit; commit: string; shippedFrom?: string };

/** What the stage says while it runs (the trace's start and why it is new, how many files are done), for a person to watch. */
export type TestsProgress = (line: string) => void;

/** What the tests stage is given: the bun, its time limit and signal, where to keep what a trace found, who hears how far it is. */
export type StageOptions = {
  bun: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  record?: ReadersRecord | undefined;
  onProgress?: TestsProgress | undefined;
};

/** What the stage decided before any file runs: the files to run, how they were chosen, and what to trace. */
export type TestsPlan = {
  tests: string[];
  ran: string[];
  figures: {
    loaders: string[];
    selection: "recorded readers" | "traced" | "all";
    traced?: string[];
    shipped?: string[];
    traceReason?: string;
    notReading: string[];
    passedUntraced?: string[];
    passedAlone?: string[];
  };
  verdicts?: { context: TraceContext; view: TreeStates; known: Map<string, Verdict>; record: ReadersRecord };
  trace?: { strace: string; files: string[] };
  /** Every selected file's verdict, once a trace made them all known and recorded them. */
  complete?: Map<string, Verdict>;
};

/**
 * Chooses what runs: the files whose verdict stands and that read the tool folders, and every file whose verdict does
 * not stand (traced when strace works), or, with no record to keep, every selected file.
 */
export async function planTests(
  selected: Reachable,
  options: StageOptions,
  env: ReturnType<typeof gateTestEnvironment>,
  stop: AbortSignal,
): Promise<TestsPlan> {
  const { tests, loaders } = selected;
  const { record } = options;
  if (!record) return { tests, ran: tests, figures: { loaders, selection: "all", notReading: [] } };
  const view = await treeStatesAt(record.git, record.commit, stop);
  const context = traceContext(options.bun, env.keyed);
  const shipped = readShippedTrace(record.shippedFrom);
  const known = knownVerdicts(record.git.repoDir, tests, view, context, { shipped, path: env.keyed.PATH });
  const unknown = tests.filter((test) => !known.verdicts.has(test));
  const strace = unknown.length > 0 ? workingStrace() : undefined;
  const ran = tests.filter((test) => known.verdicts.get(test)?.reads !== false);
  const fromShipped = tests.filter((test) => known.verdicts.get(test)?.source === "shipped");
  const figures: TestsPlan["figures"] = {
    loaders,
    selection: unknown.length === 0 ? "recorded readers" : strace ? "traced" : "all",
    notReading: tests.filter((test) => known.verdicts.get(test)?.reads === false),
    ...(fromShipped.length > 0 ? { shipped: fromShipped } : {}),
  };
  const verdicts = { context, view, known: new Map([...known.verdicts].map(([test, { reads, keys }]) => [test, { reads, keys }])), record };
  if (!strace) return { tests, ran, figures, verdicts };
  figures.traced = unknown;
  figures.traceReason = known.reason;
  return { tests, ran, figures, verdicts, trace: { strace, files: unknown } };
}

/**
 * Runs what the plan chose: the files to trace under strace beside the readers known already (the verdicts recorded
 * when the trace is complete and passing), or the files dealt over a few processes.
 */
export async function runPlanned(plan: TestsPlan, runner: TestRunner, onProgress?: TestsProgress): Promise<{ runs: TestRun[]; readers: string[] }> {
  const { figures, trace } = plan;
  if (trace && plan.verdicts) {
    const traced = await runTraced(runner, trace.strace, plan.ran, new Set(trace.files), onProgress);
    const verdicts = new Map(plan.verdicts.known);
    for (const [test, verdict] of traced.verdicts) verdicts.set(test, verdict);
    const readers = plan.tests.filter((test) => verdicts.get(test)?.reads !== false);
    figures.notReading = plan.tests.filter((test) => !readers.includes(test));
    if (traced.rerun.length > 0) figures.passedUntraced = traced.rerun;
    if (traced.passedAlone.length > 0) figures.passedAlone = traced.passedAlone;
    if (traced.complete && !runner.signal.aborted && !traced.runs.some(failedRun) && verdicts.size === plan.tests.length) {
      writeVerdicts(plan.verdicts.record.git.repoDir, plan.verdicts.context, plan.verdicts.view, verdicts);
      plan.complete = verdicts;
    }
    return { runs: traced.runs, readers };
  }
  const shares = dealByDuration(plan.ran, recordedDurations(), TEST_PROCESSES);
  const dealt = await Promise.all(shares.map((files) => runTestProcess(runner, files)));
  const runs: TestRun[] = [];
  const passedAlone: string[] = [];
  for (const run of dealt) {
    const decided = await rerunFailedAlone(run, runner);
    runs.push(decided.run);
    passedAlone.push(...decided.passedAlone);
  }
  if (passedAlone.length > 0) figures.passedAlone = passedAlone.sort();
  return { runs, readers: [] };
}
