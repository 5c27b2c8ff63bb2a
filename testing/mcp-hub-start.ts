import type { ApprovalQuestion } from "../cli/chat/approval-prompt.ts";
import { confirmMcpServers } from "../cli/chat/confirm-mcp-servers.ts";
import { DEFAULT_MCP, type McpServerConfig } from "../config/mcp-servers.ts";
import { McpHub } from "../mcp-client/mcp-hub.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { testSandbox } from "./test-sandbox.ts";

/** A stdio server's entry as `config/mcp-servers.ts` reads one: unsandboxed, at `ask`, unless `more` says otherwise. */
export function stdioServer(name: string, command: string, args: string[], more: Partial<McpServerConfig> = {}): McpServerConfig {
  return { name, transport: "stdio", command, args, policy: "ask", tools: {}, ...more };
}

/**
 * A room's start of `servers` through a real McpHub (the console's question answered by `ask`, when given): the
 * notices it gave, and each server's state once the first starts settled.
 */
export async function startMcpServers(
  servers: readonly McpServerConfig[],
  workspaceDir: string,
  ask?: (question: ApprovalQuestion) => Promise<string>,
): Promise<{ notices: string[]; states: [string, string][] }> {
  const notices: string[] = [];
  const hub = new McpHub({
    servers,
    settings: { ...DEFAULT_MCP, startTimeoutS: 10 },
    workspaceDir,
    sandbox: testSandbox,
    sandboxPolicy: sandboxPolicy({ poolSize: 0 }),
    version: "test",
    notify: (line) => notices.push(line),
  });
  hub.start();
  if (ask) await confirmMcpServers(hub, ask, true);
  await hub.ready(AbortSignal.timeout(20_000));
  const states = hub.status().map((status): [string, string] => [status.name, status.state]);
  await hub.close();
  return { notices, states };
}
