import { type FiledNeeds, fileNeeds } from "../grow/file-needs.ts";
import { QUOTE_CHARS } from "../grow/need-signals.ts";
import type { Need } from "../grow/room-needs.ts";
import { safeGoal } from "../grow/safe-goal.ts";
import type { Workflow } from "../workflows/workflow-file.ts";
import type { MissingStep } from "./planned-workflow.ts";
import { planSteps } from "./plan-steps.ts";

/**
 * A plan's missing steps as grow needs, one each: the step's goal (made safe, as grow's goals are), and as evidence the
 * person's goal and the plan around the gap, their words (`user`), under a session of their own for this plan.
 */
export function missingNeeds(goal: string, workflow: Workflow, missing: readonly MissingStep[], now = new Date()): Need[] {
  const session = `plan-${now.toISOString().replace(/[-:.]/g, "")}`;
  const plan = planSteps(workflow).join("; ");
  return missing.map((step) => ({
    kind: "plan",
    goal: safeGoal(step.goal),
    session,
    turn: step.id,
    quote: `${goal} — planned: ${plan || "(no step a tool can do)"}; missing ${step.id}: ${step.goal}`.slice(0, QUOTE_CHARS),
    source: "user",
    time: now.toISOString(),
  }));
}

/** Files a plan's missing steps as grow proposals of the workspace (see fileNeeds: nothing while a grow run holds the lock). */
export function fileMissing(
  workspaceDir: string,
  plan: { goal: string; workflow: Workflow; missing: readonly MissingStep[] },
  options: { confirmSessions: number },
): Promise<FiledNeeds> {
  return fileNeeds(workspaceDir, missingNeeds(plan.goal, plan.workflow, plan.missing), {
    confirmSessions: options.confirmSessions,
    command: `org workflow plan (pid ${process.pid})`,
  });
}
