import { z } from "zod";

/** `workflow` in org.config.json: how `org workflow plan` and `plan_workflow` plan from a goal; every field has a default. */
export const WorkflowSettings = z.strictObject({
  /** The planner's model id, on the toolsmith persona's server; absent: the toolsmith's own model. */
  plannerModel: z.string().min(1).max(200).optional(),
  /** Rounds in which a refused plan goes back to the planner with its errors (2: three plans in all). */
  planRepairs: z.int().min(0).max(10).default(2),
  /** The most steps a planned workflow may have. */
  maxPlanSteps: z.int().min(1).max(200).default(12),
  /** How many tools the registry offers the planner for a goal. */
  planTools: z.int().min(1).max(100).default(20),
});
export type WorkflowSettings = z.infer<typeof WorkflowSettings>;
