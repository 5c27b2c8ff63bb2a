import type { StageTiming, ValidationStage } from "../generated-tools/tool-metadata.ts";

/** Why a stage failed, and which phase must answer it: the implementation, or (weak tests) the tests. */
export type ValidationFailure = { stage: ValidationStage; blame: "implementation" | "tests"; message: string };

/** The figures a validation report carries besides its verdict; each stage fills in its own. */
export type ValidationFigures = {
  tests: { passed: number; failed: number };
  coverage: number;
  mutants: { total: number; killed: number; score: number };
  determinismRuns: number;
};

/** What one stage found: its failure (none when it passed) and the figures it measured. */
export type StageResult = { failure?: ValidationFailure; figures?: Partial<ValidationFigures> };

/** One stage: it starts at once, or once the stage it needs (`after`, an earlier one) has passed. */
export type StageTask = { stage: ValidationStage; after?: ValidationStage; run: (signal: AbortSignal) => Promise<StageResult> };

/** Progress of a validation: a stage's turn in the report, as `index` of `total`. */
export type StageEvent = { stage: ValidationStage; index: number; total: number };

/** The stages read in order up to the first failure: each one's result and time. */
type StagesOutcome = { results: StageResult[]; timings: StageTiming[]; failure?: ValidationFailure };

type Settled = { result: StageResult; durationMs: number } | undefined;

/**
 * Runs independent stages at once, and reads their results strictly in the order given, stopping at the first
 * failure: the outcome is the one running them one after another would give (a later stage's result is never
 * seen once an earlier one failed). At the first failure the stages still running are cancelled through their
 * signal, and every stage has ended when this returns or throws, so nothing is left writing into the run's folder.
 * Once the caller's `signal` fires this throws its reason: a stage it cut (a typecheck killed half way) has no
 * verdict, and must never be read as the code's failure.
 */
export async function runStagesInOrder(
  tasks: StageTask[],
  options: { signal?: AbortSignal; onStage?: (event: StageEvent) => void } = {},
): Promise<StagesOutcome> {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const started = new Map<ValidationStage, Promise<Settled>>();
  for (const task of tasks) {
    const settled = startTask(task, started, signal);
    // Read (and rethrown) in order below; a later stage's error must not count as unhandled meanwhile.
    settled.catch(() => {});
    started.set(task.stage, settled);
  }
  const outcome: StagesOutcome = { results: [], timings: [] };
  try {
    for (const [index, task] of tasks.entries()) {
      options.onStage?.({ stage: task.stage, index: index + 1, total: tasks.length });
      const settled = await started.get(task.stage);
      options.signal?.throwIfAborted();
      if (!settled) throw new Error(`validation stage ${task.stage} was skipped although the stage it needs passed`);
      outcome.results.push(settled.result);
      outcome.timings.push({ stage: task.stage, ok: settled.result.failure === undefined, durationMs: settled.durationMs });
      if (settled.result.failure) return { ...outcome, failure: settled.result.failure };
    }
    return outcome;
  } finally {
    stop.abort();
    await Promise.allSettled(started.values());
  }
}

/** Starts a task now, or after the stage it needs; undefined when that stage failed (so this one never ran). */
async function startTask(task: StageTask, started: Map<ValidationStage, Promise<Settled>>, signal: AbortSignal): Promise<Settled> {
  if (task.after !== undefined) {
    const before = started.get(task.after);
    if (!before) throw new Error(`validation stage ${task.stage} needs ${task.after}, which is not an earlier stage`);
    const settled = await before;
    if (!settled || settled.result.failure) return undefined;
  }
  const begun = performance.now();
  const result = await task.run(signal);
  return { result, durationMs: Math.round(performance.now() - begun) };
}
