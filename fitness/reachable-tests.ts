import { readdirSync, readFileSync, rmSync } from "node:fs";
import { z } from "zod";
import { availableParallelism } from "node:os";
import { dirname, join, normalize, relative } from "node:path";
import type { FitnessCheck } from "./records/fitness-report.ts";
import type { RepoGit } from "../git/repo-git.ts";
import {
  knownVerdicts,
  readShippedTrace,
  SHIPPED_TRACE_FILE,
  type TraceContext,
  type TraceVerdicts,
  traceContext,
  type Verdict,
  verdictsRecord,
  writeVerdicts,
} from "./folder-readers.ts";
import { readTrace, tracedArgv, workingStrace } from "./folder-trace.ts";
import { filesOutsideTools } from "../git/tool-tree.ts";
import { traceDependencies, TreeStates } from "./trace-dependencies.ts";
import { gateTestEnvironment } from "../config/environment.ts";
import { isolatedBunFlags } from "../config/org-bun-command.ts";
import { CHECKOUT_DIR, GENERATED_TOOLS_DIR, ORG_DIR } from "../config/workspace-paths.ts";
import { withFitnessWorktree } from "./fitness-worktree.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";

// Folders that are not org's code, or whose tests build throw-away repositories rather than load tools.
const SKIPPED_TOP = new Set(["node_modules", ".git", ORG_DIR, GENERATED_TOOLS_DIR]);
// A module reads the generated tools' folder when it names it.
// The toolsmith writes new tools into a candidate worktree; it never reads the checkout's.
const WRITES_ONLY = new Set(["toolsmith/run-toolsmith.ts"]);
const READS_GENERATED = /GENERATED_(TOOLS_)?DIR\b|["']tools\/generated["']|["']generated["']/;
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;

// bun test processes at once: twice the cores, as these files mostly wait on the processes and servers they start
// (traced too: under strace they spend twice the CPU, yet still wait for most of their time).
const TEST_PROCESSES = Math.min(4, 2 * availableParallelism());

function tsFiles(root: string, directory = root): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    const rel = relative(root, path);
    if (SKIPPED_TOP.has(rel) || entry.name.startsWith(".")) continue;
    if (entry.isDirectory()) found.push(...tsFiles(root, path));
    else if (entry.isFile() && entry.name.endsWith(".ts")) found.push(rel);
  }
  return found;
}

/**
 * The test files a change limited to `tools/generated/` can reach: those that import, directly, a module that
 * reads that folder (the registry, served tools, the tool catalog, config's tool names…), or read it themselves.
 * Deeper importers go through those modules, whose own tests are among these. Paths relative to `root`.
 */
export function reachableTests(root: string): Reachable {
  return selectReachable(new Map(tsFiles(root).map((file) => [file, readFileSync(join(root, file), "utf8")])));
}

/** The test files a change limited to tools/generated/ can reach, and the modules that read that folder (paths relative to the root). */
export type Reachable = { tests: string[]; loaders: string[] };

/** As `reachableTests`, read from `commit`'s objects (one git process for the sources) rather than a checkout of it. */
export async function reachableTestsAt(git: RepoGit, commit: string, signal?: AbortSignal): Promise<Reachable> {
  const files: { path: string; blob: string }[] = [];
  for (const { mode, type, id: blob, path } of await git.treeEntries(commit, { recursive: true, signal })) {
    const parts = path.split("/");
    // As a checkout walked by `tsFiles` has them: regular .ts files, none under a skipped top folder or a dot-folder.
    if (type !== "blob" || (mode !== "100644" && mode !== "100755") || !path.endsWith(".ts")) continue;
    if (parts.some((part) => part.startsWith(".")) || SKIPPED_TOP.has(parts[0] ?? "") || path.startsWith(`${GENERATED_TOOLS_DIR}/`)) continue;
    files.push({ path, blob });
  }
  const blobs = await git.readBlobs(
    files.map((file) => file.blob),
    { ...(signal ? { signal } : {}) },
  );
  return selectReachable(new Map(files.map(({ path, blob }) => [path, blobs.get(blob)?.toString("utf8") ?? ""])));
}

/** `reachableTests` over the sources given (path relative to the root → text). */
function selectReachable(source: ReadonlyMap<string, string>): Reachable {
  const files = [...source.keys()];
  const loaders = files.filter(
    (file) =>
      !file.endsWith(".test.ts") &&
      !file.startsWith("testing/") &&
      !file.startsWith("fitness/") &&
      !WRITES_ONLY.has(file) &&
      READS_GENERATED.test(source.get(file) ?? ""),
  );
  const loaderSet = new Set(loaders);
  const tests = files.filter((file) => {
    if (!file.endsWith(".test.ts") || file.startsWith("fitness/") || file.startsWith("git/")) return false;
    const text = source.get(file) ?? "";
    const imports = [...text.matchAll(IMPORT)].flatMap(([, target]) => (target === undefined ? [] : [normalize(join(dirname(file), target))]));
    return imports.some((target) => loaderSet.has(target));
  });
  return { tests: tests.sort(), loaders: loaders.sort() };
}

// How long each test file took in the last timed run of the suite (`npm run test:timings`), in the checkout running
// the gate, never the candidate's: it only decides which process runs which file.
const TIMINGS_FILE = join(CHECKOUT_DIR, "testing", "test-timings.json");
const Timings = z.object({ files: z.record(z.string(), z.number().nonnegative().finite()) });

/** The recorded durations by file; empty when the table is missing or unreadable (every file then weighs the same). */
export function recordedDurations(path = TIMINGS_FILE): Map<string, number> {
  try {
    return new Map(Object.entries(Timings.parse(JSON.parse(readFileSync(path, "utf8"))).files));
  } catch {
    return new Map();
  }
}

/**
 * The files dealt over `processes` shares, longest first onto the share with the least so far, so no process
 * ends long after the others. A file the table lacks weighs the median of those it has.
 */
export function dealByDuration(files: readonly string[], durations: ReadonlyMap<string, number>, processes: number): string[][] {
  const known = files.flatMap((file) => durations.get(file) ?? []).sort((a, b) => a - b);
  const fallback = known[Math.floor(known.length / 2)] ?? 1;
  const weight = (file: string) => durations.get(file) ?? fallback;
  const shares = Array.from({ length: Math.max(1, Math.min(processes, files.length)) }, () => ({ files: [] as string[], total: 0 }));
  for (const file of [...files].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b))) {
    const lightest = shares.reduce((least, share) => (share.total < least.total ? share : least));
    lightest.files.push(file);
    lightest.total += weight(file);
  }
  return shares.map((share) => share.files.sort());
}

/** Where and how the stage's `bun test` processes run: the worktree, the bun, their environment, the stage's signal. */
type TestRunner = { worktree: string; bun: string; env: Record<string, string>; signal: AbortSignal };

/** One `bun test` of some of the files, in its own process group (killed with it on abort or timeout); `wrap` puts it under strace. */
async function runTestProcess(runner: TestRunner, files: string[], wrap: (argv: string[]) => string[] = (argv) => argv): Promise<TestRun> {
  const { worktree, bun, env, signal } = runner;
  const child = Bun.spawn(wrap([bun, ...isolatedBunFlags(), "test", "--timeout", "30000", ...files.map((test) => `./${test}`)]), {
    cwd: worktree,
    env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  const kill = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  };
  signal.addEventListener("abort", kill, { once: true });
  if (signal.aborted) kill();
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  signal.removeEventListener("abort", kill);
  return { files, code, text: `${out}\n${err}` };
}

type TestRun = { files: string[]; code: number; text: string };

const ERROR_OUTPUT_LINES = 12;
// bun heads each file's output with `path:`; an error's first line starts with `error` or an Error's name.
const FILE_HEADER = /^(\S.*\.(?:test|spec)\.[cm]?[jt]sx?):$/;
const ERROR_LINE = /^(error|\w*Error)\b.*:/;

/**
 * Why a `bun test` that failed no test exited non-zero (an error between tests, a file that would not load): the
 * file whose output holds the first error (bun heads each file's output with `path:`), and the first lines of that
 * error, the `error:` line first.
 */
export function errorWithoutFailure(run: TestRun): { file: string; lines: string[] } {
  const lines = run.text.split("\n");
  const start = lines.findIndex((line) => /^# Unhandled error/.test(line) || ERROR_LINE.test(line));
  const header = (line: string) => FILE_HEADER.exec(line)?.[1];
  const file =
    (start >= 0
      ? lines
          .slice(0, start)
          .reverse()
          .map(header)
          .find((name) => name !== undefined)
      : undefined) ??
    (run.files.length === 1 ? run.files[0] : undefined) ??
    `one of ${run.files.join(", ")}`;
  const block = (start >= 0 ? lines.slice(start) : lines).filter((line) => line.trim() !== "" && !/^-+$/.test(line) && !/^# Unhandled/.test(line));
  const errorLine = block.findIndex((line) => ERROR_LINE.test(line.trim()));
  const first = errorLine > 0 ? [...block.slice(errorLine), ...block.slice(0, errorLine)] : block;
  return { file, lines: first.slice(0, ERROR_OUTPUT_LINES).map((line) => line.trimEnd()) };
}

/** A progress line at most every `everyMs` (and always the last), so a long stage tells how far it is without a line per file. */
function throttled(say: ((line: string) => void) | undefined, everyMs = 5_000): (done: number, total: number, line: () => string) => void {
  let last = performance.now();
  return (done, total, line) => {
    if (!say || (done < total && performance.now() - last < everyMs)) return;
    last = performance.now();
    say(line());
  };
}

// What no test's reads can turn on: the shipped trace itself (a gate a test runs reads it, whatever it holds).
const NOT_DEPENDED_ON: ReadonlySet<string> = new Set([SHIPPED_TRACE_FILE]);

/**
 * Each file in a `bun test` of its own, `TEST_PROCESSES` at a time (the files mostly wait on the processes and servers
 * they start), the longest first by the recorded durations so none is left to run alone at the end: those of
 * `traced` under strace, whose verdicts say whether one of their processes touched the worktree's tools/generated/ or
 * git state (`readTrace`) and which paths of it they depend on, the others as they are. `complete` is false when a
 * trace is missing or empty: such a file counts as a reader, and nothing is recorded from the run. A file that fails
 * under strace runs once more untraced, which decides (`rerun` when it then passed); it counts as a reader.
 * `onProgress` hears how many of the traced are done.
 */
async function runTraced(
  runner: TestRunner,
  strace: string,
  files: readonly string[],
  traced: ReadonlySet<string>,
  onProgress?: (line: string) => void,
): Promise<{ runs: TestRun[]; verdicts: Map<string, Verdict>; rerun: string[]; passedAlone: string[]; complete: boolean }> {
  const traces = ownedTempDir("fitness-trace");
  const runs: TestRun[] = [];
  const verdicts = new Map<string, Verdict>();
  const rerun: string[] = [];
  const passedAlone: string[] = [];
  let complete = true;
  const progress = throttled(onProgress);
  try {
    const durations = recordedDurations();
    // One iterator that every worker takes from: the longest first.
    const pending = [...files].sort((a, b) => (durations.get(b) ?? 0) - (durations.get(a) ?? 0) || a.localeCompare(b)).entries();
    const worker = async () => {
      for (const [index, file] of pending) {
        if (!traced.has(file)) {
          const decided = await rerunFailedAlone(await runTestProcess(runner, [file]), runner);
          runs.push(decided.run);
          passedAlone.push(...decided.passedAlone);
          continue;
        }
        const output = join(traces, `${index}.trace`);
        const run = await runTestProcess(runner, [file], (argv) => tracedArgv(strace, output, argv));
        let trace = "";
        try {
          trace = readFileSync(output, "utf8");
        } catch {}
        rmSync(output, { force: true });
        const reading = trace.length > 0 ? readTrace(trace, runner.worktree) : undefined;
        const keys = reading ? traceDependencies(reading, NOT_DEPENDED_ON) : [];
        // A test with a time limit of its own can miss it under the tracer's cost: the file runs again untraced, and
        // that run decides. It then counts as a reader, as its trace may have stopped before its reads.
        if (failedRun(run)) {
          const decided = await rerunFailedAlone(run, runner);
          runs.push(decided.run);
          rerun.push(...decided.passedAlone);
          verdicts.set(file, { reads: true, keys });
        } else {
          runs.push(run);
          if (!reading) complete = false;
          verdicts.set(file, { reads: reading?.firstAccess !== undefined || !reading, keys });
        }
        progress(verdicts.size, traced.size, () => `tracing the tests this change reaches: ${verdicts.size}/${traced.size}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(TEST_PROCESSES, files.length) }, worker));
  } finally {
    rmSync(traces, { recursive: true, force: true });
  }
  return { runs, verdicts, rerun: rerun.sort(), passedAlone: passedAlone.sort(), complete };
}

/**
 * The files of a failed run whose output holds a failed test or an error (bun heads each file's output with `path:`);
 * all of them when none can be told.
 */
function failingFiles(run: TestRun): string[] {
  if (run.files.length === 1) return run.files;
  const found = new Set<string>();
  let current: string | undefined;
  for (const line of run.text.split("\n")) {
    const header = FILE_HEADER.exec(line)?.[1];
    if (header !== undefined) current = header.replace(/^\.\//, "");
    else if (current !== undefined && (/^\(fail\) /.test(line) || ERROR_LINE.test(line))) found.add(current);
  }
  const known = run.files.filter((file) => found.has(file));
  return known.length > 0 ? known : run.files;
}

/**
 * A run of several files that failed: each file with a failure or an error runs once more alone, and that run
 * decides, since a test with a time limit of its own can miss it while the machine is busy with the other files.
 * The run returned keeps the first run's passes (a file that passed alone counts only the tests that passed the
 * first time) and what still failed alone.
 */
async function rerunFailedAlone(run: TestRun, runner: TestRunner): Promise<{ run: TestRun; passedAlone: string[] }> {
  if (!failedRun(run) || runner.signal.aborted) return { run, passedAlone: [] };
  const failing = failingFiles(run);
  const again: TestRun[] = [];
  for (const file of failing) again.push(await runTestProcess(runner, [file]));
  const still = again.filter(failedRun);
  const passedAlone = failing.filter((_, index) => !failedRun(again[index] ?? run));
  // Nothing passed alone: the first run's output says why, as it stands.
  if (passedAlone.length === 0) return { run, passedAlone };
  // One file that passed alone: that run is the whole story.
  if (run.files.length === 1 && again[0]) return { run: again[0], passedAlone };
  const kept = run.text
    .split("\n")
    .filter((line) => !/^\(fail\) /.test(line) && !/^\s*\d+ fail\s*$/.test(line) && !ERROR_LINE.test(line))
    .join("\n");
  return {
    run: { files: run.files, code: still[0]?.code ?? 0, text: [...still.map((failed) => failed.text), kept].join("\n") },
    passedAlone,
  };
}

/** Whether a `bun test` run failed: a non-zero exit or a failed test. */
function failedRun(run: TestRun): boolean {
  return run.code !== 0 || /^\s*[1-9]\d* fail/m.test(run.text);
}

/**
 * Where the tests stage may keep what a trace found: the repository whose gate runs, and the commit judged;
 * `shippedFrom`, the checkout whose shipped trace may stand (org's own when not given).
 */
export type ReadersRecord = { git: RepoGit; commit: string; shippedFrom?: string };

/** What the stage says while it runs (the trace's start and why it is new, how many files are done), for a person to watch. */
export type TestsProgress = (line: string) => void;

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

/**
 * The trace alone, ahead of a gate: the selected files of `commit` whose verdict does not stand (`knownVerdicts`) run
 * under strace in a fresh worktree of `commit` when strace works, and the verdicts are recorded as the tests stage
 * records them; a gate of a candidate of that code then runs only the readers. `tool new --promote` and `org grow`
 * start it beside the build, so a first gate no longer waits for the trace. Returns what it did, in a line.
 */
export async function traceReachableTests(
  { git, commit, shippedFrom }: ReadersRecord,
  { bun, timeoutMs, signal, onProgress }: { bun: string; timeoutMs: number; signal: AbortSignal; onProgress?: TestsProgress },
): Promise<{ traced: boolean; said: string; verdicts?: TraceVerdicts }> {
  const selected = await reachableTestsAt(git, commit, signal);
  if (selected.tests.length === 0) return { traced: false, said: "no test imports a module that reads tools/generated/" };
  const stop = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  const env = gateTestEnvironment();
  const plan = await planTests(selected, { bun, timeoutMs, signal, record: { git, commit, ...(shippedFrom ? { shippedFrom } : {}) } }, env, stop);
  const { trace, verdicts } = plan;
  const record = (all: Map<string, Verdict> | undefined) =>
    verdicts && all ? { verdicts: verdictsRecord(verdicts.context, verdicts.view, all) } : {};
  if (!trace) {
    const said =
      plan.figures.selection === "recorded readers"
        ? "this code's trace was recorded already"
        : "no working strace: every gate runs the selected files";
    return { traced: false, said, ...record(plan.figures.selection === "recorded readers" ? verdicts?.known : undefined) };
  }
  const count = trace.files.length;
  onProgress?.(`tracing the ${count} test file(s) a tool can reach, each alone under strace, once for this code (${plan.figures.traceReason})`);
  return withFitnessWorktree(
    git,
    commit,
    async (worktree) => {
      const only = { ...plan, ran: trace.files };
      const { runs, readers } = await runPlanned(only, { worktree, bun, env: env.variables, signal: stop }, onProgress);
      const failed = runs.filter(failedRun).flatMap(failingFiles);
      if (failed.length > 0 || !only.complete) {
        return {
          traced: true,
          said: `traced ${count} file(s); ${
            failed.length > 0 ? `a test failed (${failed.join(", ")})` : "a " + "trace was empty"
          }, so nothing was recorded`,
        };
      }
      return {
        traced: true,
        said: `traced ${count} file(s): ${readers.length} of the ${plan.tests.length} read tools/generated/ (recorded for this code)`,
        ...record(only.complete),
      };
    },
    signal,
  );
}

type StageOptions = {
  bun: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  record?: ReadersRecord | undefined;
  onProgress?: TestsProgress | undefined;
};

const RECORDED_READERS = "those that read tools/generated/ when this code was traced";

/** What the stage decided before any file runs: the files to run, how they were chosen, and what to trace. */
type TestsPlan = {
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

/** The tree of `commit` as a traced test saw its worktree (`TreeStates`): every file outside tools/generated/ but the shipped trace. */
export async function treeStatesAt(git: RepoGit, commit: string, signal?: AbortSignal): Promise<TreeStates> {
  return new TreeStates(await filesOutsideTools(git, commit, signal), NOT_DEPENDED_ON);
}

/**
 * Chooses what runs: the files whose verdict stands and that read the tool folders, and every file whose verdict does
 * not stand (traced when strace works), or, with no record to keep, every selected file.
 */
async function planTests(
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

/**
 * Runs what the plan chose: the files to trace under strace beside the readers known already (the verdicts recorded
 * when the trace is complete and passing), or the files dealt over a few processes.
 */
async function runPlanned(plan: TestsPlan, runner: TestRunner, onProgress?: TestsProgress): Promise<{ runs: TestRun[]; readers: string[] }> {
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
