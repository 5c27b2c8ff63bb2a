import { expect, test } from "bun:test";
import { type McpStepTools, withMcpSteps } from "./mcp-steps.ts";

// The routing alone: which of the two callers a step's tool name reaches. The MCP side's calls are tested with real
// servers in mcp-client/ (mcp-room.test.ts, mcp-connection.test.ts).
const calls: string[] = [];
const generated = {
  checkTool: (name: string) => (name === "files__read" ? undefined : `no generated tool ${name}`),
  callTool: async (name: string) => {
    calls.push(`generated ${name}`);
    return { ok: true as const, output: "generated", durationMs: 0 };
  },
};
const mcp: McpStepTools = {
  owns: (name) => name.startsWith("files__"),
  workflowProblem: () => undefined,
  callForWorkflow: async (name) => {
    calls.push(`mcp ${name}`);
    return { ok: true, output: "mcp" };
  },
};

test("a promoted tool keeps its name in a workflow: a server's tool of the same name does not shadow it", async () => {
  const tools = withMcpSteps(generated, mcp);
  expect(tools.checkTool("files__read")).toBeUndefined();
  await tools.callTool("files__read", {});
  await tools.callTool("files__write", {});
  expect(calls).toEqual(["generated files__read", "mcp files__write"]);
});
