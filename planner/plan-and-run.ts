import type { StepEvent } from "../workflows/run-workflow.ts";
import type { MissingFiled, PlannerPorts, PlanRun } from "./planner-ports.ts";
import type { PlanRecord } from "./plan-store.ts";
import { type PlanOutcome, type PlanRound, planWorkflow } from "./plan-workflow.ts";

/** A goal to plan: the inputs it will run on, whether to run the checked plan, and who watches its rounds and steps. */
export type PlanGoal = {
  goal: string;
  inputs?: Record<string, unknown>;
  /** Run the plan once it checks. */
  run: boolean;
  signal: AbortSignal;
  onRound?: (event: PlanRound) => void;
  onStep?: (event: StepEvent) => void;
};

/** What planning found: the outcome, notes on what was left out, the kept plan and its run. */
export type PlanResult = {
  outcome: PlanOutcome;
  notes: string[];
  record?: PlanRecord;
  ran?: PlanRun;
  /** Candidate branches made for the plan's missing tools (`--build`): what to promote to keep it. */
  built?: string[];
  /** Live candidate branches already holding a missing tool, which the plan uses (`--build`): to promote too. */
  candidates?: string[];
  /** The grow proposal each missing step was filed as (new, or one it joined). */
  proposals?: Extract<MissingFiled, { ok: true }>["filed"];
};

/**
 * From a goal to a checked plan, kept, and (with `run`) its output: what the planner's search offers for the goal is put
 * to its model; what it submits is checked by org, repaired in rounds, and run through the same runner as `workflow
 * run`. Steps nobody can do are filed as grow proposals when the ports can.
 */
export async function planFromGoal(planner: PlannerPorts, asked: PlanGoal): Promise<PlanResult> {
  const offer = await planner.search(asked.goal, asked.signal);
  const outcome = await planWorkflow({
    goal: asked.goal,
    ...(asked.inputs !== undefined ? { inputs: asked.inputs } : {}),
    tools: offer.tools,
    workflows: offer.workflows,
    model: planner.model,
    settings: planner.settings,
    signal: asked.signal,
    ...(asked.onRound ? { onRound: asked.onRound } : {}),
  });
  const result: PlanResult = { outcome, notes: offer.notes };
  if (outcome.kind === "missing" && planner.fileMissing) {
    const filed = await planner.fileMissing({ goal: asked.goal, ...outcome });
    return filed.ok
      ? { ...result, proposals: filed.filed }
      : { ...result, notes: [...result.notes, `the missing steps were not filed as proposals: ${filed.why}`] };
  }
  if (outcome.kind !== "planned") return result;
  const record = planner.plans.keep({
    goal: asked.goal,
    ...(asked.inputs !== undefined ? { inputs: asked.inputs } : {}),
    workflow: outcome.workflow,
    rounds: outcome.rounds,
  });
  if (!asked.run) return { ...result, record };
  const ran = await planner.runner.run(record, asked.inputs ?? {}, { signal: asked.signal, ...(asked.onStep ? { onStep: asked.onStep } : {}) });
  return { ...result, record, ran };
}
