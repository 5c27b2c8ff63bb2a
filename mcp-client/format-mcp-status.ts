import { oneLine } from "../security/terminal-sanitizer.ts";
import type { McpServerStatus } from "./mcp-hub.ts";

/** Where a server runs, in a word or two. */
function where(status: McpServerStatus): string {
  if (status.transport === "http") return "http";
  return status.sandbox ? "stdio, sandboxed" : "stdio, as you";
}

/**
 * The servers as `/mcp` and `org mcp servers` print them: a line per server (name, state, where it runs, its tools or
 * why it is off), then its tools with their policies and descriptions, and the tools it lists but org does not offer.
 * Everything a server said is made safe for the terminal here.
 */
export function formatMcpStatus(statuses: readonly McpServerStatus[], options: { tools?: boolean } = {}): string[] {
  if (statuses.length === 0) return ['no MCP servers: add them under "mcpServers" in org.config.json (see docs/mcp-servers.md)'];
  const lines: string[] = [];
  for (const status of statuses) {
    const count = status.state === "up" || status.tools.length > 0 ? ` — ${status.tools.length} tool${status.tools.length === 1 ? "" : "s"}` : "";
    const skipped = status.skipped.length > 0 ? ` (${status.skipped.length} not offered)` : "";
    const detail = status.detail ? `: ${oneLine(status.detail, 300)}` : "";
    lines.push(`${status.name}  ${status.state} (${where(status)})${count}${skipped}${detail}`);
    if (options.tools === false) continue;
    const width = Math.max(0, ...status.tools.map((tool) => tool.name.length));
    for (const tool of status.tools) {
      lines.push(`  ${tool.name.padEnd(width)}  ${tool.policy.padEnd(5)}  ${oneLine(tool.description, 80)}`);
    }
    for (const skip of status.skipped) lines.push(`  not offered: ${oneLine(skip.name, 60)} — ${oneLine(skip.problem, 120)}`);
    if (status.log.last !== undefined)
      lines.push(`  last of ${status.log.count} log message${status.log.count === 1 ? "" : "s"}: ${oneLine(status.log.last, 160)}`);
  }
  return lines;
}
