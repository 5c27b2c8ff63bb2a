import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { type ListedTool, MAX_TOOLS_PER_SERVER, type McpToolEntry, mcpToolEntry } from "./mcp-tool-entry.ts";

/** Pages of `tools/list` read at most. */
const MAX_PAGES = 10;

/** A listed tool that is not offered, and why. */
export type SkippedTool = { name: string; problem: string };

/** A server's `tools/list`, page by page, until it ends, MAX_PAGES were read or MAX_TOOLS_PER_SERVER were listed. */
export async function listMcpTools(client: Client, signal: AbortSignal, ms: number): Promise<ListedTool[]> {
  const listed: ListedTool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const result = await client.listTools(cursor === undefined ? {} : { cursor }, { signal, timeout: ms });
    listed.push(...(result.tools as ListedTool[]));
    cursor = result.nextCursor;
    if (cursor === undefined || listed.length >= MAX_TOOLS_PER_SERVER) break;
  }
  return listed;
}

/** What of server `server`'s listing is offered: the tools that pass the checks, first of a name wins; the rest, and why. */
export function offeredTools(server: string, listed: readonly ListedTool[]): { tools: McpToolEntry[]; skipped: SkippedTool[] } {
  const tools: McpToolEntry[] = [];
  const skipped: SkippedTool[] = [];
  const seen = new Set<string>();
  for (const tool of listed.slice(0, MAX_TOOLS_PER_SERVER)) {
    const checked = mcpToolEntry(server, tool);
    if (!checked.ok) skipped.push({ name: checked.name, problem: checked.problem });
    else if (seen.has(checked.entry.name)) skipped.push({ name: checked.entry.tool, problem: "a second tool of the same name" });
    else {
      seen.add(checked.entry.name);
      tools.push(checked.entry);
    }
  }
  if (listed.length > MAX_TOOLS_PER_SERVER)
    skipped.push({ name: `${listed.length - MAX_TOOLS_PER_SERVER} more`, problem: `over ${MAX_TOOLS_PER_SERVER} tools` });
  return { tools, skipped };
}

/** What a listing left out that the one before did not: the tool and why when one, else how many and a few names. */
export function skipNotice(server: string, skips: readonly SkippedTool[]): string {
  const [only] = skips;
  if (skips.length === 1 && only) return `${server}'s tool ${only.name} is not offered: ${only.problem}`;
  const shown = skips.slice(0, 3).map((skip) => skip.name);
  return `${server}: ${skips.length} listed tools are not offered (${shown.join(", ")}${skips.length > shown.length ? ", …" : ""}); /mcp says why`;
}
