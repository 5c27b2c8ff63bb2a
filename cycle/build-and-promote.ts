import { toolsmithRecords } from "../fitness/toolsmith-records.ts";
import { traceReachableTests } from "../fitness/trace-reachable-tests.ts";
import { runToolsmith, type ToolsmithEvent, type ToolsmithOutcome, type ToolsmithRequest } from "../toolsmith/run-toolsmith.ts";
import { type CandidateCycleRequest, type CycleOutcome, type CycleProgress, type GateOptions, promoteCandidate } from "./promote-candidate.ts";
import { MAIN_REF } from "../git/ref-names.ts";

export type BuildProgress = CycleProgress | { type: "toolsmith"; event: ToolsmithEvent };

/**
 * The gate's trace of main's tests, started beside the build when this code has none recorded yet (what a tool can
 * change is only its folder, so main's trace is the candidate's): the first gate then waits for what is left of it
 * instead of tracing every file after the build. Undefined when the gate's options cannot be had (the gate says why).
 */
function traceBesideBuild(
  gate: () => GateOptions,
  note: (line: string) => void,
  signal: AbortSignal,
): { done: Promise<unknown>; stop: () => Promise<void> } | undefined {
  let options: GateOptions;
  try {
    options = gate();
  } catch {
    return undefined;
  }
  const controller = new AbortController();
  const both = AbortSignal.any([signal, controller.signal]);
  const done = (async () => {
    const main = await options.git.resolveCommit(MAIN_REF);
    if (!main) return;
    const { traced, said } = await traceReachableTests(
      { git: options.git, commit: main },
      { bun: options.bun, timeoutMs: options.testsTimeoutMs, signal: both, onProgress: (line) => note(`beside the build: ${line}`) },
    );
    // A trace recorded already is the usual case after the first: nothing to say. Without strace the gate says it.
    if (traced) note(`beside the build: ${said}`);
  })().catch((error: unknown) => {
    // The gate traces again (or says why it cannot): nothing is lost but the head start.
    if (!both.aborted)
      note(`beside the build: the trace stopped (${error instanceof Error ? error.message.split("\n")[0] : String(error)}); the gate traces itself`);
  });
  return {
    done,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

/**
 * The whole cycle for one goal: the toolsmith builds the tool and makes its candidate branch (main's tests traced
 * beside it, when this code has no trace yet), then `promoteCandidate` starts it beside current, judges it and
 * promotes a pass. `cycle` is undefined when the build made no branch. What `tool new --promote` runs, and `org grow`
 * after it.
 */
export async function buildAndPromote(
  request: {
    toolsmith: Omit<ToolsmithRequest, "signal" | "onEvent" | "records">;
    onProgress?: (progress: BuildProgress) => void;
    signal: AbortSignal;
  } & Omit<CandidateCycleRequest, "branch" | "onProgress" | "signal">,
): Promise<{ built: ToolsmithOutcome; cycle?: CycleOutcome }> {
  const { toolsmith, onProgress, signal, ...cycle } = request;
  const trace = traceBesideBuild(cycle.gate, (line) => onProgress?.({ type: "note", stage: "build", line }), signal);
  try {
    const built = await runToolsmith({
      ...toolsmith,
      records: toolsmithRecords,
      signal,
      onEvent: (event) => onProgress?.({ type: "toolsmith", event }),
    });
    if (!built.ok) return { built };
    const gate = trace ? () => ({ ...cycle.gate(), testsTraced: trace.done }) : cycle.gate;
    return { built, cycle: await promoteCandidate({ ...cycle, gate, branch: built.branch, signal, ...(onProgress ? { onProgress } : {}) }) };
  } finally {
    // Nothing is left running: a trace the build's failure made useless, or an abort, is stopped and waited for.
    await trace?.stop();
  }
}
