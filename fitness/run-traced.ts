import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { RepoGit } from "../git/repo-git.ts";
import { filesOutsideTools } from "../git/tool-tree.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";
import { SHIPPED_TRACE_FILE, type Verdict } from "./folder-readers.ts";
import { readTrace, tracedArgv } from "./folder-trace.ts";
import { rerunFailedAlone, runTestProcess, TEST_PROCESSES, type TestRunner } from "./run-test-process.ts";
import { recordedDurations } from "./test-durations.ts";
import { failedRun, type TestRun } from "./test-run-output.ts";
import { traceDependencies, TreeStates } from "./trace-dependencies.ts";

// What no test's reads can turn on: the shipped trace itself (a gate a test runs reads it, whatever it holds).
export const NOT_DEPENDED_ON: ReadonlySet<string> = new Set([SHIPPED_TRACE_FILE]);

/** The tree of `commit` as a traced test saw its worktree (`TreeStates`): every file outside tools/generated/ but the shipped trace. */
export async function treeStatesAt(git: RepoGit, commit: string, signal?: AbortSignal): Promise<TreeStates> {
  return new TreeStates(await filesOutsideTools(git, commit, signal), NOT_DEPENDED_ON);
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

/**
 * Each file in a `bun test` of its own, `TEST_PROCESSES` at a time (the files mostly wait on the processes and servers
 * they start), the longest first by the recorded durations so none is left to run alone at the end: those of
 * `traced` under strace, whose verdicts say whether one of their processes touched the worktree's tools/generated/ or
 * git state (`readTrace`) and which paths of it they depend on, the others as they are. `complete` is false when a
 * trace is missing or empty: such a file counts as a reader, and nothing is recorded from the run. A file that fails
 * under strace runs once more untraced, which decides (`rerun` when it then passed); it counts as a reader.
 * `onProgress` hears how many of the traced are done.
 */
export async function runTraced(
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
