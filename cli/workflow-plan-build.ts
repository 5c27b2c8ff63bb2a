import type { PlanResult, PlanSetup } from "../planner/plan-and-run.ts";
import { planFromGoal } from "../planner/plan-and-run.ts";
import { describeToolsmithEvent } from "./tool-command.ts";

/**
 * `--build`: the toolsmith makes each missing step's tool on a candidate branch of its own, and the goal is planned
 * again over those candidates. A tool the toolsmith could not make leaves the first outcome standing, with a note.
 */
export async function buildMissing(first: PlanResult, setup: PlanSetup, show: { json: boolean; say: (text: string) => void }): Promise<PlanResult> {
  if (first.outcome.kind !== "missing") return first;
  const [{ runToolsmith }, { toolsmithModel }] = await Promise.all([import("../toolsmith/run-toolsmith.ts"), import("../models/persona-model.ts")]);
  const refs = [...setup.refs];
  const notes = [...first.notes];
  for (const step of first.outcome.missing) {
    if (!show.json) show.say(`building ${step.id}: ${step.goal}`);
    const outcome = await runToolsmith({
      goal: step.goal,
      model: toolsmithModel(setup.config),
      repoDir: setup.repoDir,
      settings: setup.config.toolsmith,
      sandbox: setup.sandbox,
      sandboxPolicy: setup.sandboxPolicy,
      signal: setup.signal,
      ...(show.json ? {} : { onEvent: (event) => show.say(`  ${describeToolsmithEvent(event)}`) }),
    });
    if (!outcome.ok) return { ...first, notes: [...notes, `the toolsmith could not make ${step.id}: ${outcome.failure}`] };
    refs.push(outcome.branch);
    notes.push(`${outcome.name} for ${step.id} is on ${outcome.branch}`);
  }
  const again = await planFromGoal({ ...setup, refs });
  return { ...again, notes: [...notes, ...again.notes], built: refs.slice(setup.refs.length), ...(first.proposals ? { proposals: first.proposals } : {}) };
}
