import { z } from "zod";
import { STEP_ID_PATTERN, type Workflow, workflowSchemas } from "../workflows/workflow-file.ts";

/** A step of the goal that no offered tool can do: what the planner names instead of a step. */
export const MissingStep = z.strictObject({
  id: z.string().regex(STEP_ID_PATTERN, "must be snake_case: a lowercase letter, then up to 47 lowercase letters, digits or _"),
  goal: z.string().min(3).max(500),
});
export type MissingStep = z.infer<typeof MissingStep>;

/**
 * `submit_workflow`'s arguments: a workflow in the format `org workflow check` takes, and the steps no offered tool can
 * do. Its steps may be empty only when something is missing.
 */
// Loaded only to plan, so the workflow file's schemas are made as this module loads.
export const PlannedWorkflow = workflowSchemas()
  .Workflow.omit({ goal: true, examples: true })
  .extend({
    steps: z.array(workflowSchemas().WorkflowStep).max(200),
    missing: z.array(MissingStep).max(20).optional(),
  });
export type PlannedWorkflow = z.infer<typeof PlannedWorkflow>;

/** What the planner's one tool takes: a PlannedWorkflow, with the keys a small model quoted as JSON text read back first. */
export const SubmitWorkflowArguments = z.preprocess(unquoteKeys, PlannedWorkflow);

/** The workflow of a plan, without what only the planner's answer carries. */
export function workflowOf(plan: PlannedWorkflow): Workflow {
  const { missing: _missing, ...workflow } = plan;
  return workflow;
}

/** Keys small models send as a JSON text instead of JSON: read back when the text parses to the kind the key holds. */
const JSON_KEYS = { steps: "array", missing: "array", inputs: "object", output: "object" } as const;

/** The arguments with the keys a model quoted read back as JSON. */
function unquoteKeys(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [key, kind] of Object.entries(JSON_KEYS)) {
    const text = out[key];
    if (typeof text !== "string") continue;
    try {
      const parsed: unknown = JSON.parse(text);
      const isKind = kind === "array" ? Array.isArray(parsed) : typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
      if (isKind) out[key] = parsed;
    } catch {
      // Left as it is: the schema says what is wrong with it.
    }
  }
  return out;
}
