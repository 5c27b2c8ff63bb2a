import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { CHECKOUT_DIR, WORKFLOWS_DIR } from "../config/workspace-paths.ts";
import { z } from "zod";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { cutOutput } from "../tools/cut-output.ts";
import { type AnyTool, defineTool, type JsonValue } from "../tools/define-tool.ts";
import { generatedToolCaller, toolRootsFor } from "./generated-tool-caller.ts";
import { loadWorkflowGraph } from "./load-workflow.ts";
import { runWorkflow } from "./run-workflow.ts";
import { DEFAULT_WORKFLOW_STEP_RUNS } from "./step-run-count.ts";
import { WORKFLOW_FILE_PATTERN, WorkflowError } from "./workflow-file.ts";
import { type McpStepTools, withMcpSteps } from "./mcp-steps.ts";

/**
 * `workflow_run`: runs a workflow file of the workspace (never one outside it or in `.org/`) with the given
 * inputs; every generated tool's call in the sandbox (tools looked up in the workspace, then `checkoutDir`, org's own
 * checkout by default), and the room's MCP servers' tools set to "allow" (`mcp`). A wrong
 * workflow or a failing step comes back as a result naming the step and key, for the model to fix and call again.
 * One run makes at most `maxStepRuns` step runs (limits.workflowStepRuns).
 */
export function workflowRunTool(options: { mcp?: McpStepTools; checkoutDir?: string; maxStepRuns?: number } = {}): AnyTool {
  const { mcp, checkoutDir, maxStepRuns = DEFAULT_WORKFLOW_STEP_RUNS } = options;
  return defineTool("workflow_run", {
    description:
      "Runs a workflow: a JSON file in the workspace that chains generated tools (steps with $inputs.x and " +
      "$steps.<id>.output.<field> references, if_condition, foreach). Returns the workflow's output as JSON. " +
      "Give the file's path relative to the workspace and its inputs as an object.",
    parameters: z.strictObject({
      file: z.string().min(1).max(500).describe("the workflow file, relative to the workspace, e.g. workflows/count.json"),
      inputs: z.record(z.string(), z.unknown()).default({}).describe("the workflow's inputs, matching its inputs schema"),
    }),
    runsCode: true,
    async execute({ file, inputs }, context) {
      const generated = generatedToolCaller({
        roots: toolRootsFor(context.workspaceDir, checkoutDir),
        scratchDir: scratchDirFor(context),
        sandbox: context.sandbox,
        sandboxPolicy: context.sandboxPolicy,
      });
      // An MCP server's answer a step got is words from outside, as it is called from the room (docs/browser.md).
      let server: string | undefined;
      const tools = withMcpSteps(generated, mcp, (name) => {
        server ??= name;
      });
      const heard = () => (server === undefined ? {} : { outsideWords: { from: `the MCP tool ${server}` } });
      try {
        const within = workflowHome(file, context.workspaceDir, checkoutDir ?? CHECKOUT_DIR);
        const graph = loadWorkflowGraph(resolve(within, file), { within, checkTool: tools.checkTool, maxStepRuns });
        const output = await runWorkflow(graph, inputs, { callTool: tools.callTool, signal: context.signal, maxStepRuns });
        return { ok: true, output: cutOutput(JSON.stringify(output) ?? "null"), data: (output ?? null) as JsonValue, ...heard() };
      } catch (error) {
        if (!(error instanceof WorkflowError)) throw error;
        return { ok: false, output: `Error: ${error.message} Fix the workflow file or the inputs and call workflow_run again.`, ...heard() };
      }
    },
  });
}

/**
 * Where `file` is read from: the workspace; or, for `workflows/<name>.json` the workspace lacks, org's checkout, whose
 * promoted workflows are served like its promoted tools.
 */
function workflowHome(file: string, workspaceDir: string, checkoutDir: string): string {
  const [folder, name = "", ...rest] = file.split("/");
  const promoted = folder === WORKFLOWS_DIR && rest.length === 0 && WORKFLOW_FILE_PATTERN.test(name);
  return promoted && !existsSync(resolve(workspaceDir, file)) && existsSync(resolve(checkoutDir, file)) ? checkoutDir : workspaceDir;
}

/** `workflow_run` without MCP servers. */
export const workflowRun: AnyTool = workflowRunTool();
