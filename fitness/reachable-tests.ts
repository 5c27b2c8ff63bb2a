import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { z } from "zod";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, normalize, relative } from "node:path";
import type { FitnessCheck } from "../git/fitness-report.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { readCachedReaders, readersKey, writeCachedReaders } from "./folder-readers.ts";
import { firstFolderAccess, tracedArgv, workingStrace } from "./folder-trace.ts";
import { isolatedBunFlags } from "../config/org-bun-command.ts";
import { CHECKOUT_DIR, GENERATED_TOOLS_DIR, ORG_DIR } from "../config/workspace-paths.ts";
import { withFitnessWorktree } from "./fitness-worktree.ts";

// Folders that are not org's code, or whose tests build throw-away repositories rather than load tools.
const SKIPPED_TOP = new Set(["node_modules", ".git", ORG_DIR, GENERATED_TOOLS_DIR]);
// A module reads the generated tools' folder when it names it.
// The toolsmith writes new tools into a candidate worktree; it never reads the checkout's.
const WRITES_ONLY = new Set(["toolsmith/run-toolsmith.ts"]);
const READS_GENERATED = /GENERATED_(TOOLS_)?DIR\b|["']tools\/generated["']|["']generated["']/;
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;

// bun test processes at once: twice the cores, as these files mostly wait on the processes and servers they start.
const TEST_PROCESSES = Math.min(4, 2 * availableParallelism());
// Under strace every file and process call stops for the tracer, so traced files keep the cores busy: one a core.
const TRACED_PROCESSES = Math.max(1, Math.min(4, availableParallelism()));

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

/** One `bun test` of some of the files, in its own process group (killed with it on abort or timeout); `wrap` puts it under strace. */
async function runTestProcess(
  worktree: string,
  bun: string,
  files: string[],
  signal: AbortSignal,
  wrap: (argv: string[]) => string[] = (argv) => argv,
): Promise<TestRun> {
  const child = Bun.spawn(wrap([bun, ...isolatedBunFlags(), "test", "--timeout", "30000", ...files.map((test) => `./${test}`)]), {
    cwd: worktree,
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

/**
 * Each file in a `bun test` of its own under strace, `TRACED_PROCESSES` at a time; `readers` are the files one of
 * whose processes touched the worktree's tools/generated/ or git state (`firstFolderAccess`). `complete` is false
 * when a trace is missing or empty: such a file counts as a reader, and nothing is recorded from the run. A file
 * that fails under strace runs once more untraced, which decides (`rerun` when it then passed); it counts as a reader.
 */
async function runTraced(
  worktree: string,
  bun: string,
  strace: string,
  files: readonly string[],
  signal: AbortSignal,
): Promise<{ runs: TestRun[]; readers: string[]; rerun: string[]; complete: boolean }> {
  const traces = mkdtempSync(join(tmpdir(), "org-fitness-trace-"));
  const runs: TestRun[] = [];
  const readers: string[] = [];
  const rerun: string[] = [];
  let complete = true;
  try {
    const queue = [...files].entries();
    const worker = async () => {
      for (const [index, file] of queue) {
        const output = join(traces, `${index}.trace`);
        const traced = await runTestProcess(worktree, bun, [file], signal, (argv) => tracedArgv(strace, output, argv));
        let trace = "";
        try {
          trace = readFileSync(output, "utf8");
        } catch {}
        rmSync(output, { force: true });
        // A test with a time limit of its own can miss it under the tracer's cost: the file runs again untraced, and
        // that run decides. It then counts as a reader, as its trace may have stopped before its reads.
        if (failedRun(traced)) {
          const decided = await rerunFailedAlone(traced, worktree, bun, signal);
          runs.push(decided.run);
          rerun.push(...decided.passedAlone);
          readers.push(file);
          continue;
        }
        runs.push(traced);
        if (trace.length === 0) complete = false;
        if (trace.length === 0 || firstFolderAccess(trace, worktree) !== undefined) readers.push(file);
      }
    };
    await Promise.all(Array.from({ length: Math.min(TRACED_PROCESSES, files.length) }, worker));
  } finally {
    rmSync(traces, { recursive: true, force: true });
  }
  return { runs, readers: readers.sort(), rerun: rerun.sort(), complete };
}

/** The files of a failed run whose output holds a failed test or an error (bun heads each file's output with `path:`); all of them when none can be told. */
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
async function rerunFailedAlone(run: TestRun, worktree: string, bun: string, signal: AbortSignal): Promise<{ run: TestRun; passedAlone: string[] }> {
  if (!failedRun(run) || signal.aborted) return { run, passedAlone: [] };
  const failing = failingFiles(run);
  const again: TestRun[] = [];
  for (const file of failing) again.push(await runTestProcess(worktree, bun, [file], signal));
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

/** Where the tests stage may keep what a trace found: the repository whose gate runs, and the commit judged. */
export type ReadersRecord = { git: RepoGit; commit: string };

/**
 * Stage c: runs the reachable tests with `bun test` in the candidate's fresh worktree, the files dealt over a few
 * processes by their recorded durations (bun's own `--parallel` workers would read the worktree's bunfig.toml), each in its own process group,
 * all killed after `timeoutMs`. bun takes its configuration from the checkout running the gate
 * (`isolatedBunFlags`), never from the candidate's worktree.
 *
 * With `record` and a working strace, only the files that read the tool folders run: the first time a code
 * version (`readersKey`: everything outside tools/generated/) is judged, every selected file runs alone under
 * strace and those that touched the worktree's tools/generated/ or git state are recorded, signed, in
 * `.org/fitness/readers/` (only when all passed); later candidates of that code run just those. A file that never
 * touches the folder runs the same whatever the candidate put there, so running it again judges nothing of the
 * candidate. The report names the files that ran and those left out.
 */
export function runReachableTests(worktree: string, bun: string, timeoutMs: number, signal?: AbortSignal, record?: ReadersRecord): Promise<FitnessCheck> {
  return reachableTestsCheck(reachableTests(worktree), (use) => use(worktree), bun, timeoutMs, signal, record);
}

/**
 * Stage c as the gate runs it on `commit`: the files are chosen from the commit's objects, and the fresh, locked
 * worktree (`withFitnessWorktree`) is made only when a file is to run; when this code's trace is recorded and none of
 * the files read the tool folders, none is.
 */
export async function judgeReachableTests(git: RepoGit, commit: string, bun: string, timeoutMs: number, signal: AbortSignal): Promise<FitnessCheck> {
  const selected = await reachableTestsAt(git, commit, signal);
  return reachableTestsCheck(selected, (use) => withFitnessWorktree(git, commit, use, signal), bun, timeoutMs, signal, { git, commit });
}

/** `runReachableTests` over the files `selected`, in the worktree `inWorktree` gives when a file is to run. */
async function reachableTestsCheck(
  selected: Reachable,
  inWorktree: (use: (worktree: string) => Promise<FitnessCheck>) => Promise<FitnessCheck>,
  bun: string,
  timeoutMs: number,
  signal?: AbortSignal,
  record?: ReadersRecord,
): Promise<FitnessCheck> {
  const started = performance.now();
  const { tests, loaders } = selected;
  const name = "candidate's tests the change reaches";
  if (tests.length === 0) {
    return { stage: "tests", name, ok: true, reason: "no test imports a module that reads tools/generated/", figures: { ran: [] }, durationMs: 0 };
  }
  const timeout = AbortSignal.timeout(timeoutMs);
  const stop = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const strace = record ? workingStrace() : undefined;
  const key = record && strace ? await readersKey(record.git, record.commit, tests, bun, stop) : undefined;
  const known = record && key ? readCachedReaders(record.git.repoDir, key) : undefined;
  const ran = known ? tests.filter((test) => known.includes(test)) : tests;
  const left = tests.filter((test) => !ran.includes(test));
  const selection = known ? "recorded readers" : key ? "traced" : "all";
  const figures: {
    loaders: string[];
    selection: string;
    readersKey?: string;
    notReading: string[];
    passedUntraced?: string[];
    passedAlone?: string[];
  } = {
    loaders,
    selection,
    ...(key ? { readersKey: key } : {}),
    notReading: left,
  };
  if (ran.length === 0) {
    const reason = `none of the ${tests.length} file(s) that import a module reading tools/generated/ read it when traced`;
    return { stage: "tests", name, ok: true, reason, figures: { ran, ...figures }, durationMs: performance.now() - started };
  }
  return inWorktree(async (worktree) => {
    let runs: TestRun[];
    let readers: string[] = [];
    if (key && strace && !known) {
      const traced = await runTraced(worktree, bun, strace, tests, stop);
      runs = traced.runs;
      readers = traced.readers;
      figures.notReading = tests.filter((test) => !readers.includes(test));
      if (traced.rerun.length > 0) figures.passedUntraced = traced.rerun;
      if (traced.complete && record && !stop.aborted && !runs.some(failedRun)) {
        writeCachedReaders(record.git.repoDir, key, tests, readers);
      }
    } else {
      const shares = dealByDuration(ran, recordedDurations(), TEST_PROCESSES);
      const dealt = await Promise.all(shares.map((files) => runTestProcess(worktree, bun, files, stop)));
      runs = [];
      const passedAlone: string[] = [];
      for (const run of dealt) {
        const decided = await rerunFailedAlone(run, worktree, bun, stop);
        runs.push(decided.run);
        passedAlone.push(...decided.passedAlone);
      }
      if (passedAlone.length > 0) figures.passedAlone = passedAlone.sort();
    }
    const timedOut = timeout.aborted;
    // A run put together by rerunFailedAlone holds a summary of each process it ran: all of them count.
    const count = (pattern: RegExp) => runs.reduce((sum, run) => sum + [...run.text.matchAll(pattern)].reduce((total, [, n]) => total + Number(n ?? 0), 0), 0);
    const passed = count(/^\s*(\d+) pass/gm);
    const failed = count(/^\s*(\d+) fail/gm);
    const failures = runs.flatMap((run) => [...run.text.matchAll(/^\(fail\) (.*)$/gm)].flatMap(([, test]) => (test === undefined ? [] : [test]))).slice(0, 5);
    const code = runs.find((run) => run.code !== 0)?.code ?? 0;
    const ok = code === 0 && !timedOut && failed === 0 && passed > 0;
    const silent = failures.length === 0 ? runs.find((run) => run.code !== 0) : undefined;
    const error = silent ? errorWithoutFailure(silent) : undefined;
    const what =
      selection === "all"
        ? "that load generated tools"
        : selection === "traced"
          ? `traced alone, ${readers.length} of them read tools/generated/ (recorded for this code)`
          : `that read tools/generated/ when this code was traced; ${left.length} that did not were left out`;
    return {
      stage: "tests",
      name,
      ok,
      reason: ok
        ? `${passed} passed in ${ran.length} file(s) ${what}`
        : timedOut
          ? `killed after ${Math.round(timeoutMs / 1000)} s`
          : error
            ? `bun test exited ${code} though no test failed: an error in ${error.file}: ${error.lines.slice(0, 3).join(" ⏎ ")}`
            : `${failed} failed: ${failures.join("; ") || `bun test exited ${code}`}`,
      figures: { ran, passed, failed, ...figures, ...(error ? { errorFile: error.file, errorOutput: error.lines } : {}) },
      durationMs: performance.now() - started,
    };
  });
}
