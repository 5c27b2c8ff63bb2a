import { gateTestEnvironment } from "../config/environment.ts";
import { type TraceVerdicts, type Verdict, verdictsRecord } from "./folder-readers.ts";
import { withFitnessWorktree } from "./fitness-worktree.ts";
import { reachableTestsAt } from "./reachable-tests.ts";
import { failedRun, failingFiles } from "./test-run-output.ts";
import { planTests, type ReadersRecord, runPlanned, type TestsProgress } from "./tests-plan.ts";

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
