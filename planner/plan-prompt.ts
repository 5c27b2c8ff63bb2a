import type { ChatMessage } from "../llm/chat-types.ts";
import type { Workflow } from "../workflows/workflow-file.ts";
import type { PlanError } from "../workflows/check-plan.ts";
import { planErrorLine } from "../workflows/check-plan.ts";
import type { CatalogTool } from "./plan-catalog.ts";

// The system prompt begins "You are planner, …": scripted servers pick the persona by that name.
const SYSTEM = [
  "You are planner, the workflow planner of org. You compose the tools listed into one JSON workflow that does the",
  "user's goal; the tools do the work, in a sandbox. Answer only by calling submit_workflow, once.",
].join(" ");

/** The planner's one tool. */
export const PLAN_TOOL_NAME = "submit_workflow";

/** What `submit_workflow` is, as the model sees it. */
export const SUBMIT_WORKFLOW_DESCRIPTION = [
  "Submit the workflow: name, description, inputs (a JSON Schema object describing the inputs it takes), steps and output.",
  'A step is {"id": snake_case, "tool": a listed tool (or "workflow": a listed saved workflow file), "inputs": {...}}, optionally with',
  '"foreach": a reference to a list (the step runs once per item; $item and $index inside; its output is the list of results) and',
  '"if_condition": a reference to a boolean (false skips the step; its output is null).',
  "Values are JSON literals or references: $inputs.<name>, $steps.<id>.output.<field> (a step that runs earlier; numbers index lists),",
  `$item, $item.<field>, $index; "\${steps.x.output.y} text" writes a value into text. Each reference must fit the schema of the input`,
  "it feeds. output is an object of references. When part of the goal needs a tool nobody listed, leave that step out and name it",
  'in "missing": [{"id": snake_case, "goal": one line saying what that tool must do}].',
].join(" ");

const MAX_GOAL = 2_000;
const MAX_INPUTS_TEXT = 4_000;

/** The first messages: the goal, the inputs it will run on, the tools and the saved workflows that may be used. */
export function planMessages(
  goal: string,
  inputs: Record<string, unknown> | undefined,
  tools: readonly CatalogTool[],
  workflows: ReadonlyMap<string, Workflow>,
): ChatMessage[] {
  const toolLines = tools.map((tool) =>
    JSON.stringify({
      name: tool.name,
      description: tool.description,
      input_schema: tool.inputSchema,
      output_schema: tool.outputSchema,
      ...(tool.example ? { example: tool.example } : {}),
    }),
  );
  const workflowLines = [...workflows].map(([file, workflow]) =>
    JSON.stringify({
      workflow: file,
      name: workflow.name,
      ...(workflow.description ? { description: workflow.description } : {}),
      inputs: workflow.inputs,
      output: workflow.output,
    }),
  );
  const inputsText = inputs === undefined ? "none given: declare the inputs the goal needs" : JSON.stringify(inputs).slice(0, MAX_INPUTS_TEXT);
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content: [
        `Goal: ${goal.slice(0, MAX_GOAL)}`,
        "",
        `Inputs it will run on: ${inputsText}`,
        "",
        `Tools (${tools.length}), one JSON object a line:`,
        ...(toolLines.length > 0 ? toolLines : ["(none: every step is missing)"]),
        ...(workflowLines.length > 0 ? ["", "Saved workflows a step may run:", ...workflowLines] : []),
        "",
        "Call submit_workflow with the workflow.",
      ].join("\n"),
    },
  ];
}

/** The message that sends a refused plan back: each error with its step, key, what was expected and what was given. */
export function repairMessage(errors: readonly PlanError[]): string {
  return [
    `Your workflow was refused (${errors.length} error${errors.length === 1 ? "" : "s"}):`,
    ...errors.slice(0, 20).map((error) => `- ${planErrorLine(error)}`),
    "Call submit_workflow again with the whole corrected workflow.",
  ].join("\n");
}

/** The message after an answer that made no submit_workflow call (what it did instead, when it called another tool). */
export function reminderMessage(problem: string): string {
  return `${problem.charAt(0).toUpperCase()}${problem.slice(1)} Answer only by calling submit_workflow with the workflow.`;
}
