import { type FiledNeeds, fileNeeds } from "../../grow/file-needs.ts";
import type { Need } from "../../grow/room-needs.ts";
import { safeGoal, safeQuote } from "../../grow/safe-goal.ts";
import type { Workflow } from "../../workflows/workflow-file.ts";
import type { MissingStep } from "../../planner/planned-workflow.ts";
import { planSteps } from "../../planner/plan-steps.ts";
import type { MissingFiler } from "../../planner/planner-ports.ts";

/**
 * A plan's missing steps as grow needs, one each: the step's goal (made safe, as grow's goals are), and as evidence the
 * planner's words with the person's goal quoted beside them and the plan around the gap, under a session of their own
 * for this plan. The planner is a model: its words are `persona` evidence, so the proposal is unconfirmed until a person
 * accepts it (`org grow accept`) or it is seen in `grow.confirmSessions` sessions.
 */
export function missingNeeds(goal: string, workflow: Workflow, missing: readonly MissingStep[], now = new Date()): Need[] {
  const session = `plan-${now.toISOString().replace(/[-:.]/g, "")}`;
  const plan = planSteps(workflow).join("; ");
  // A step whose aim is moving credentials somewhere is filed as no need (safeGoal refused it).
  return missing.flatMap((step): Need[] => {
    const safe = safeGoal(step.goal);
    if (safe === "") return [];
    const quote = `planner: missing ${step.id}: ${step.goal} — for the goal "${goal}"; planned: ${plan || "(no step a tool can do)"}`;
    return [{ kind: "plan", goal: safe, session, turn: step.id, quote: safeQuote(quote), source: "persona", time: now.toISOString() }];
  });
}

/**
 * Files a plan's missing steps as grow proposals of the workspace (see fileNeeds: nothing while a grow run holds the
 * lock). Handed to the planner by `org workflow plan`, which sits above grow as the planner does not.
 */
export const fileMissing: MissingFiler = async (workspaceDir, plan, options) => {
  const filed: FiledNeeds = await fileNeeds(workspaceDir, missingNeeds(plan.goal, plan.workflow, plan.missing), {
    confirmSessions: options.confirmSessions,
    command: `org workflow plan (pid ${process.pid})`,
  });
  return filed.ok ? { ok: true, filed: filed.filed.map(({ need, proposal, created }) => ({ step: need.turn, proposal, created })) } : filed;
};
