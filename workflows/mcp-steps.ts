import type { McpHub } from "../mcp-client/mcp-hub.ts";
import type { ToolCaller } from "./run-workflow.ts";

/** What a workflow needs of the room's MCP servers. */
export type McpStepTools = Pick<McpHub, "owns" | "workflowProblem" | "callForWorkflow">;

/**
 * The generated-tool caller, with the MCP servers' tools (`<server>__<tool>`) beside it (a usable promoted tool of the
 * same name comes first): a step may call one whose config policy is "allow" (a workflow asks nobody); its result's
 * data (the server's `structuredContent`, else its text) is the step's output, and its failure stops the workflow
 * like a generated tool's.
 */
export function withMcpSteps(
  tools: { checkTool(name: string): string | undefined; callTool: ToolCaller },
  mcp: McpStepTools | undefined,
  /** Told of each MCP tool a step called: its answer is a server's words, which the workflow's output may carry on. */
  called?: (name: string) => void,
): { checkTool(name: string): string | undefined; callTool: ToolCaller } {
  if (!mcp) return tools;
  // A promoted tool keeps its name (generated names may hold "__"), as in the room: a server's tool never shadows it.
  const viaMcp = (name: string) => mcp.owns(name) && tools.checkTool(name) !== undefined;
  return {
    checkTool: (name) => (viaMcp(name) ? mcp.workflowProblem(name) : tools.checkTool(name)),
    callTool: async (name, input, signal) => {
      if (!viaMcp(name)) return tools.callTool(name, input, signal);
      const problem = mcp.workflowProblem(name);
      if (problem !== undefined) return { ok: false, reason: "tool", error: problem, durationMs: 0 };
      const started = performance.now();
      called?.(name);
      const result = await mcp.callForWorkflow(name, input, signal);
      const durationMs = performance.now() - started;
      if (!result.ok) return { ok: false, reason: "tool", error: result.output.replace(/^Error: /, ""), durationMs };
      return { ok: true, output: result.data ?? result.output, durationMs };
    },
  };
}
