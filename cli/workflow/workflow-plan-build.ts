import type { PlanResult } from "../../planner/plan-and-run.ts";
import type { PlanPlace } from "../../planner/planner-ports.ts";
import { describeToolsmithEvent } from "../tool/describe-toolsmith-event.ts";

/**
 * `--build`: the toolsmith makes each missing step's tool on a candidate branch of its own, and the goal is planned
 * again over those candidates. A tool the toolsmith could not make leaves the first outcome standing, with a note.
 */
export async function buildMissing(
  first: PlanResult,
  place: PlanPlace,
  planOver: (refs: readonly string[]) => Promise<PlanResult>,
  show: { json: boolean; say: (text: string) => void; signal: AbortSignal },
): Promise<PlanResult> {
  if (first.outcome.kind !== "missing") return first;
  const [{ runToolsmith }, { toolsmithModel }, { toolsmithRecords }] = await Promise.all([
    import("../../toolsmith/run-toolsmith.ts"),
    import("../../personas/persona-model.ts"),
    import("../../fitness/toolsmith-records.ts"),
  ]);
  const refs = [...place.refs];
  const notes = [...first.notes];
  for (const step of first.outcome.missing) {
    if (!show.json) show.say(`building ${step.id}: ${step.goal}`);
    const outcome = await runToolsmith({
      goal: step.goal,
      records: toolsmithRecords,
      model: toolsmithModel(place.config),
      repoDir: place.repoDir,
      settings: place.config.toolsmith,
      sandbox: place.sandbox,
      sandboxPolicy: place.sandboxPolicy,
      signal: show.signal,
      ...(show.json ? {} : { onEvent: (event) => show.say(`  ${describeToolsmithEvent(event)}`) }),
    });
    if (!outcome.ok) return { ...first, notes: [...notes, `the toolsmith could not make ${step.id}: ${outcome.failure}`] };
    refs.push(outcome.branch);
    // A step's id is often the tool's own name: said once, not "split_lines for split_lines".
    notes.push(`the toolsmith built ${outcome.name} on ${outcome.branch}${outcome.name === step.id ? "" : ` for step ${step.id}`}`);
  }
  const again = await planOver(refs);
  return {
    ...again,
    notes: [...notes, ...again.notes],
    built: refs.slice(place.refs.length),
    ...(first.proposals ? { proposals: first.proposals } : {}),
  };
}
