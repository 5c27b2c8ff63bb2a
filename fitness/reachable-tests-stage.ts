import { gateTestEnvironment } from "../config/environment.ts";
import type { FitnessCheck } from "./fitness-report.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { withFitnessWorktree } from "./fitness-worktree.ts";
import { type Reachable, reachableTests, reachableTestsAt } from "./reachable-tests.ts";
import type { TestRunner } from "./run-test-process.ts";
import { errorWithoutFailure, type TestRun } from "./test-run-output.ts";
import { planTests, type ReadersRecord, runPlanned, type StageOptions, type TestsPlan, type TestsProgress } from "./tests-plan.ts";

/**
 * Stage c: runs the reachable tests with `bun test` in the candidate's fresh worktree, the files dealt over a few
 * processes by their recorded durations (bun's own `--parallel` workers would read the worktree's bunfig.toml), each in its own process group,
 * all killed after `timeoutMs`. bun takes its configuration from the checkout running the gate
 * (`isolatedBunFlags`), never from the candidate's worktree, and the processes get only the variables of
 * `gateTestEnvironment`, never the gate's model server, keys or org settings.
 *
 * With `record`, only the files that read the tool folders run: a file whose verdict stands (a trace of this
 * checkout's gate, or the one shipped with the code, made where every path of the tree the file depended on was as it
 * is now: `knownVerdicts`) runs when it read them; every other selected file runs alone under strace (when strace
 * works; else it simply runs), and the verdicts, with what each file depended on, are recorded, signed, in
 * `.org/fitness/readers/` (only when all passed). A file that never touches the folder runs the same whatever the
 * candidate put there, so running it again judges nothing of the candidate. The report names the files that ran and
 * those left out, those traced and why.
 */
export function runReachableTests(
  worktree: string,
  bun: string,
  timeoutMs: number,
  signal?: AbortSignal,
  record?: ReadersRecord,
  onProgress?: TestsProgress,
): Promise<FitnessCheck> {
  return reachableTestsCheck(reachableTests(worktree), (use) => use(worktree), { bun, timeoutMs, signal, record, onProgress });
}

/**
 * Stage c as the gate runs it on `commit`: the files are chosen from the commit's objects, and the fresh, locked
 * worktree (`withFitnessWorktree`) is made only when a file is to run; when every file's verdict stands and none of
 * the files read the tool folders, none is.
 */
export async function judgeReachableTests(
  git: RepoGit,
  commit: string,
  bun: string,
  timeoutMs: number,
  signal: AbortSignal,
  onProgress?: TestsProgress,
): Promise<FitnessCheck> {
  const selected = await reachableTestsAt(git, commit, signal);
  return reachableTestsCheck(selected, (use) => withFitnessWorktree(git, commit, use, signal), {
    bun,
    timeoutMs,
    signal,
    record: { git, commit },
    onProgress,
  });
}

const RECORDED_READERS = "those that read tools/generated/ when this code was traced";

/** `runReachableTests` over the files `selected`, in the worktree `inWorktree` gives when a file is to run. */
async function reachableTestsCheck(
  selected: Reachable,
  inWorktree: (use: (worktree: string) => Promise<FitnessCheck>) => Promise<FitnessCheck>,
  options: StageOptions,
): Promise<FitnessCheck> {
  const started = performance.now();
  const name = "candidate's tests the change reaches";
  if (selected.tests.length === 0) {
    return { stage: "tests", name, ok: true, reason: "no test imports a module that reads tools/generated/", figures: { ran: [] }, durationMs: 0 };
  }
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const stop = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const env = gateTestEnvironment();
  const plan = await planTests(selected, options, env, stop);
  const { ran, figures } = plan;
  if (ran.length === 0) {
    const reason = `none of the ${plan.tests.length} file(s) that import a module reading tools/generated/ read it when traced`;
    return { stage: "tests", name, ok: true, reason, figures: { ran, ...figures }, durationMs: performance.now() - started };
  }
  const { onProgress } = options;
  if (plan.trace) {
    const others = ran.length - plan.trace.files.length;
    onProgress?.(
      `tracing the ${plan.trace.files.length} test file(s) this change reaches, each alone under strace, once ` +
        `for this code (${figures.traceReason})${others > 0 ? `, and running the ${others} that read tools/generated/ when traced before` : ""}`,
    );
  } else
    onProgress?.(
      `running the ${ran.length} test file(s) this change reaches${figures.selection === "recorded readers" ? ` (${RECORDED_READERS})` : ""}`,
    );
  return inWorktree(async (worktree) => {
    const runner: TestRunner = { worktree, bun: options.bun, env: env.variables, signal: stop };
    const { runs, readers } = await runPlanned(plan, runner, onProgress);
    return summarize({ plan, runs, readers, timedOut: timeout.aborted, timeoutMs: options.timeoutMs, name, started });
  });
}

/** The stage's check from what ran: passes and failures counted over every process, and why it failed. */
function summarize(done: {
  plan: TestsPlan;
  runs: TestRun[];
  readers: string[];
  timedOut: boolean;
  timeoutMs: number;
  name: string;
  started: number;
}): FitnessCheck {
  const { plan, runs, readers, timedOut } = done;
  const { ran, figures } = plan;
  // A run put together by rerunFailedAlone holds a summary of each process it ran: all of them count.
  const count = (pattern: RegExp) =>
    runs.reduce((sum, run) => sum + [...run.text.matchAll(pattern)].reduce((total, [, n]) => total + Number(n ?? 0), 0), 0);
  const passed = count(/^\s*(\d+) pass/gm);
  const failed = count(/^\s*(\d+) fail/gm);
  const failures = runs
    .flatMap((run) => [...run.text.matchAll(/^\(fail\) (.*)$/gm)].flatMap(([, test]) => (test === undefined ? [] : [test])))
    .slice(0, 5);
  const code = runs.find((run) => run.code !== 0)?.code ?? 0;
  const ok = code === 0 && !timedOut && failed === 0 && passed > 0;
  const silent = failures.length === 0 ? runs.find((run) => run.code !== 0) : undefined;
  const error = silent ? errorWithoutFailure(silent) : undefined;
  const what =
    figures.selection === "all"
      ? "that load generated tools"
      : figures.selection === "traced"
        ? `of which ${figures.traced?.length ?? 0} traced alone (traced because: ${figures.traceReason}); ` +
          `${readers.length} of the ${plan.tests.length} read tools/generated/ (recorded for this code)`
        : `that read tools/generated/ when this code was traced; ${figures.notReading.length} that did not were left out`;
  return {
    stage: "tests",
    name: done.name,
    ok,
    reason: ok
      ? `${passed} passed in ${ran.length} file(s) ${what}`
      : timedOut
        ? `killed after ${Math.round(done.timeoutMs / 1000)} s`
        : error
          ? `bun test exited ${code} though no test failed: an error in ${error.file}: ${error.lines.slice(0, 3).join(" ⏎ ")}`
          : `${failed} failed: ${failures.join("; ") || `bun test exited ${code}`}`,
    figures: { ran, passed, failed, ...figures, ...(error ? { errorFile: error.file, errorOutput: error.lines } : {}) },
    durationMs: performance.now() - done.started,
  };
}
