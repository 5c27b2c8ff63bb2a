import { z } from "zod";
import type { OrgConfig } from "../config/org-config.ts";
import { ChatError } from "../llm/chat-errors.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import type { Embedder } from "../registry/ollama-embedder.ts";
import { cutOutput } from "../tools/cut-output.ts";
import { type AnyTool, defineTool, type JsonValue, type ToolResult } from "../tools/define-tool.ts";
import { planErrorLine } from "../workflows/check-plan.ts";
import { WorkflowError } from "../workflows/workflow-file.ts";
import type { PlanResult } from "./plan-and-run.ts";
import { planSteps } from "./plan-steps.ts";

const Parameters = z.strictObject({
  goal: z.string().trim().min(1).max(2_000).describe("what the workflow should do, in a sentence"),
  inputs: z.record(z.string(), z.unknown()).optional().describe('the values to run it on, as an object, e.g. {"number": 5}'),
});

/**
 * `plan_workflow`: the agent says a goal; the planner composes the generated tools into a workflow that org checks,
 * repairs in rounds and runs in the sandbox, as `org workflow plan --run` does. The result is the plan as steps and
 * its output; a plan that could not be made says why (the errors, the tools nobody has).
 */
export function planWorkflowTool(options: { config: OrgConfig; model: LanguageModel; checkoutDir: string; embedder?: Embedder }): AnyTool {
  return defineTool("plan_workflow", {
    description:
      "Plans and runs a workflow for a goal: org finds the generated tools it needs, a planner chains them, " +
      "org checks the plan and runs it in the sandbox. Returns the plan as steps and the output. Use it when a goal needs several tools in a row.",
    parameters: Parameters,
    runsCode: true,
    async execute({ goal, inputs }, context) {
      // Loaded at the first call: the registry and the runner cost a room's start nothing until then.
      const [{ planFromGoal }, { plannerPorts }] = await Promise.all([import("./plan-and-run.ts"), import("./planner-ports.ts")]);
      try {
        const planner = await plannerPorts(
          {
            workspaceDir: context.workspaceDir,
            repoDir: options.checkoutDir,
            config: options.config,
            sandbox: context.sandbox,
            sandboxPolicy: context.sandboxPolicy,
            refs: [],
            model: options.model,
            ...(options.embedder ? { embedder: options.embedder } : {}),
          },
          context.signal,
        );
        const result = await planFromGoal(planner, { goal, ...(inputs !== undefined ? { inputs } : {}), run: true, signal: context.signal });
        return planToolResult(result);
      } catch (error) {
        if (error instanceof ChatError && error.kind !== "aborted")
          return { ok: false, output: `Error: the planner's model server failed: ${error.message}` };
        if (error instanceof WorkflowError) return { ok: false, output: `Error: the plan was checked, but its run failed: ${error.message}` };
        throw error;
      }
    },
  });
}

/** What the model reads of a planning: the plan as steps and its output, or why there is none. */
export function planToolResult(result: PlanResult): ToolResult {
  const { outcome } = result;
  switch (outcome.kind) {
    case "planned": {
      const output = result.ran?.output ?? null;
      const text = [
        `planned in ${outcome.rounds} round(s), ${outcome.workflow.steps.length} step(s):`,
        ...planSteps(outcome.workflow),
        `output: ${JSON.stringify(output)}`,
      ];
      // The workflow and the output were parsed from JSON (the planner's call, the tools' results): JSON values both.
      const data = { workflow: outcome.workflow, output, rounds: outcome.rounds, plan: result.record?.id ?? null } as JsonValue;
      return { ok: true, output: cutOutput(text.join("\n")), data };
    }
    case "missing": {
      const filed = result.proposals?.length ? ` Filed as grow proposals: ${result.proposals.map((entry) => entry.proposal).join(", ")}.` : "";
      return {
        ok: false,
        output: `Error: the goal needs tools nobody has: ${outcome.missing
          .map((step) => `${step.id} ` + `(${step.goal})`)
          .join("; ")}.${filed} Ask the toolsmith to build them, then plan again.`,
      };
    }
    case "refused":
      return {
        ok: false,
        output: `Error: no plan passed org's check in ${outcome.rounds} round(s): ${outcome.errors.slice(0, 5).map(planErrorLine).join("; ")}`,
      };
    case "silent":
      return { ok: false, output: "Error: the planner never called submit_workflow; try again with a clearer goal." };
  }
}
