import type { Workflow, WorkflowStep } from "../workflows/workflow-file.ts";

const MAX_VALUE = 80;

function shortValue(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "null");
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

function stepLine(step: WorkflowStep, index: number): string {
  const callee = step.tool ?? `workflow ${step.workflow}`;
  const inputs = Object.entries(step.inputs)
    .map(([key, value]) => `${key} ← ${shortValue(value)}`)
    .join(", ");
  const loop = step.foreach !== undefined ? ` for each item of ${step.foreach}` : "";
  const condition = step.if_condition !== undefined ? ` if ${step.if_condition}` : "";
  return `${index + 1}. ${step.id}: ${callee}(${inputs})${loop}${condition}`;
}

/** A plan as numbered steps, one line each, as the room and `workflow plan` show it: `2. count: word_count(text ← $item) for each item of
 * $steps.split.output.lines`.
 */
export function planSteps(workflow: Workflow): string[] {
  return workflow.steps.map(stepLine);
}
