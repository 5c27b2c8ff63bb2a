import type { McpServerConfig } from "../../config/mcp-servers.ts";
import type { McpHub } from "../../mcp-client/mcp-hub.ts";
import { describeChangedFiles, describeLaunch } from "../../mcp-client/mcp-trust.ts";
import type { ApprovalQuestion } from "./approval-prompt.ts";

/**
 * Asks, for each MCP server that is new or changed since the user last confirmed it, whether to start it (showing
 * exactly what would run and where); yes remembers it and starts it, no leaves it off for this session.
 */
export async function confirmMcpServers(
  hub: McpHub,
  ask: (question: ApprovalQuestion) => Promise<string | undefined>,
  oneKey: boolean,
): Promise<void> {
  for (const server of hub.awaitingTrust()) {
    // A server no confirmation can cover (its notice says why) is not asked about.
    if (hub.trustProblem(server)?.kind === "uncovered") continue;
    const yes = (reply: string | undefined) => ["y", "yes"].includes((reply ?? "").trim().toLowerCase());
    const reply = await ask({
      persona: "mcp",
      call: { name: `mcp:${server.name}`, arguments: {} },
      text: `${confirmationReason(hub, server)} It would ${server.transport === "http" ? "connect to" : "run"}: ${describeLaunch(server)}`,
      prompt: `start it, and remember this? [y]es / [n]o${oneKey ? "" : " (then Enter)"}: `,
      keys: ["yes", "no"],
      verdict: (answer) =>
        yes(answer) ? `confirmed ${server.name}: starting it` : `${server.name} stays off (/mcp trust ${server.name} starts it later)`,
    });
    if (reply === undefined) return;
    if (yes(reply)) hub.trust(server.name);
  }
}

/** Why the console asks about a server: it is new or changed, or files it runs changed since it was confirmed (which). */
function confirmationReason(hub: McpHub, server: McpServerConfig): string {
  const problem = hub.trustProblem(server);
  if (problem?.kind !== "files") return `MCP server ${server.name} is new or changed since you last confirmed it.`;
  return (
    `What MCP server ${server.name} runs changed since you confirmed it: ` +
    `${describeChangedFiles(problem, hub.workspaceDir)}; something other than you may have put code there.`
  );
}
