import type { LanguageModel } from "../llm/language-model.ts";
import type { ChatMessage } from "../llm/chat-types.ts";
import { oneToolDefinition, readOneToolAnswer } from "../personas/one-tool-call.ts";
import { checkPlan, type PlanError, type PlanTool, unknownCallee } from "../workflows/check-plan.ts";
import type { Workflow } from "../workflows/workflow-file.ts";
import type { WorkflowSettings } from "../config/workflow-settings.ts";
import { type MissingStep, type PlannedWorkflow, SubmitWorkflowArguments, workflowOf } from "./planned-workflow.ts";
import { PLAN_TOOL_NAME, planMessages, reminderMessage, repairMessage, SUBMIT_WORKFLOW_DESCRIPTION } from "./plan-prompt.ts";
import { type CatalogTool, planTools } from "./plan-catalog.ts";

/** What planning asks: the goal, the inputs it will run on, the tools and saved workflows it may use, the planner. */
export type PlanRequest = {
  goal: string;
  inputs?: Record<string, unknown>;
  tools: readonly CatalogTool[];
  /** Saved workflows by file name, each checked. */
  workflows: ReadonlyMap<string, Workflow>;
  model: LanguageModel;
  settings: Pick<WorkflowSettings, "planRepairs" | "maxPlanSteps">;
  signal?: AbortSignal;
  /** Each plan as it is read: accepted, refused with its errors, or no call at all. */
  onRound?: (event: PlanRound) => void;
};

export type PlanRound = { round: number; outcome: "accepted" | "missing" | "refused" | "no call"; errors?: PlanError[]; last?: boolean };

/** How planning ended. `silent`: the planner never called submit_workflow. */
export type PlanOutcome =
  | { kind: "planned"; workflow: Workflow; rounds: number }
  | { kind: "missing"; workflow: Workflow; missing: MissingStep[]; rounds: number }
  | { kind: "refused"; errors: PlanError[]; rounds: number }
  | { kind: "silent"; said: string; rounds: number };

/**
 * Asks the planner for a workflow, offering exactly one tool, `submit_workflow`, and checks what comes back against
 * what org holds (`checkPlan`): a refused plan goes back with every error for up to `planRepairs` more rounds. An answer
 * without the call gets one reminder; a second is the end (no retry storm). A plan naming missing steps ends planning.
 */
export async function planWorkflow(request: PlanRequest): Promise<PlanOutcome> {
  const definition = oneToolDefinition(PLAN_TOOL_NAME, SUBMIT_WORKFLOW_DESCRIPTION, SubmitWorkflowArguments);
  const tool = { name: PLAN_TOOL_NAME, description: SUBMIT_WORKFLOW_DESCRIPTION, parameters: SubmitWorkflowArguments };
  const tools = planTools(request.tools);
  const conversation: ChatMessage[] = planMessages(request.goal, request.inputs, request.tools, request.workflows);
  let errors: PlanError[] = [];
  let reminded = false;
  for (let round = 1; round <= request.settings.planRepairs + 1; ) {
    const completion = await request.model.stream({
      messages: conversation,
      tools: [definition],
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const answer = readOneToolAnswer({ tool, bareArguments: true }, completion);
    if (!answer.ok && !answer.called) {
      request.onRound?.({ round, outcome: "no call", last: reminded });
      conversation.push({ role: "assistant", content: completion.content.slice(0, 20_000) });
      // A planner that refused plans and then stops calling ends with those plans' errors, not as one that never called.
      if (reminded) return errors.length > 0 ? { kind: "refused", errors, rounds: round } : { kind: "silent", said: answer.words, rounds: round };
      reminded = true;
      conversation.push({ role: "user", content: reminderMessage(answer.problem) });
      continue;
    }
    // What it submitted goes into the history as text, so the repair that follows can be read against it.
    conversation.push({
      role: "assistant",
      content: submittedText(completion.content, answer.ok ? answer.value : completion.toolCalls[0]?.arguments),
    });
    errors = answer.ok ? readPlan(answer.value, tools, request) : [{ key: "(arguments)", message: answer.problem }];
    if (answer.ok && errors.length === 0) {
      const workflow = workflowOf(answer.value);
      const missing = answer.value.missing ?? [];
      request.onRound?.({ round, outcome: missing.length > 0 ? "missing" : "accepted" });
      if (missing.length > 0) return { kind: "missing", workflow, missing, rounds: round };
      return { kind: "planned", workflow, rounds: round };
    }
    request.onRound?.({ round, outcome: "refused", errors });
    conversation.push({ role: "user", content: repairMessage(errors) });
    round += 1;
  }
  return { kind: "refused", errors, rounds: request.settings.planRepairs + 1 };
}

const SUBMITTED_CHARS = 12_000;

/** The assistant's turn as the history keeps it: its words, and the submit_workflow call it made as JSON text. */
function submittedText(content: string, submitted: unknown): string {
  const call = submitted === undefined ? "" : `${PLAN_TOOL_NAME}(${(JSON.stringify(submitted) ?? "").slice(0, SUBMITTED_CHARS)})`;
  return [content.slice(0, 4_000), call].filter((part) => part !== "").join("\n");
}

/** The plan's errors: none for a plan that can run, or for one whose missing steps leave the rest to be planned again. */
function readPlan(plan: PlannedWorkflow, tools: ReadonlyMap<string, PlanTool>, request: PlanRequest): PlanError[] {
  // With steps missing, the rest cannot be checked as a whole (it reads the missing ones); its callees must still exist.
  if ((plan.missing ?? []).length > 0) return plan.steps.flatMap((step) => unknownCallee(step, { tools, workflows: request.workflows }));
  if (plan.steps.length === 0)
    return [{ key: "steps", message: 'the workflow has no steps; give at least one, or name what no tool can do under "missing"' }];
  return checkPlan(workflowOf(plan), {
    tools,
    workflows: request.workflows,
    maxSteps: request.settings.maxPlanSteps,
    ...(request.inputs !== undefined ? { inputs: request.inputs } : {}),
  });
}
