import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { CallToolResult, ElicitRequestFormParams, ElicitResult, ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";
import type { McpLog } from "./mcp-log.ts";
import type { McpToolAnnotations, McpToolEntry } from "./mcp-tool-catalog.ts";
import type { McpToolSet } from "./mcp-tool-set.ts";

/** The SDK's request schemas and `McpError`, loaded with the first server (`serve` starts without them). */
export type McpSdkTypes = typeof import("@modelcontextprotocol/sdk/types.js");

/** What every capability registers with: the SDK server, the tool set it offers, where it logs. */
export type McpServerContext = {
  server: Server;
  sdk: McpSdkTypes;
  tools: McpToolSet;
  /** `notifications/message` to the client, at the level it set. */
  log: McpLog;
  /** Where unexpected errors go (never stdout: on stdio that is the protocol's). */
  logError: (line: string) => void;
};

/**
 * One of the room's built-in tools offered by one MCP server (the browser, `mcp-browser.ts`): listed before the catalog's
 * tools, run as the room runs it; `close` ends what its calls started (the session's browser).
 */
export type McpBuiltInTool = {
  name: string;
  kind: "built-in";
  description: string;
  inputSchema: Record<string, unknown>;
  annotations: McpToolAnnotations;
  call(args: Record<string, unknown>, call: McpBuiltInCall): Promise<CallToolResult>;
  close(): Promise<void>;
};

/** What a built-in's call runs with: the request's signal, and the client's user to ask when the client can be asked. */
export type McpBuiltInCall = {
  signal: AbortSignal;
  /** `elicitation/create` on the call's own stream; absent when the client declared no form elicitation. */
  elicit?: (params: ElicitRequestFormParams, options: { signal: AbortSignal; timeoutMs: number }) => Promise<ElicitResult>;
};

/** What a server's refusal hook is asked about: a tool's name and where it comes from. */
export type McpOfferedTool = Pick<McpToolEntry | McpBuiltInTool, "name" | "kind">;

/**
 * One MCP capability (tools, resources, prompts, logging, completion): what the server's `capabilities`
 * declare for it, and the handlers it registers on the server, as a Hono route module registers its routes.
 * `register` returns how to stop listening to the tool set, when it listens.
 */
export type McpCapability = {
  declares: ServerCapabilities;
  register(context: McpServerContext): (() => void) | undefined;
};

/** The set read again (a failure is logged, and the last list kept), then its entries. */
export async function entriesNow(context: McpServerContext): Promise<readonly McpToolEntry[]> {
  await context.tools
    .refresh()
    .catch((error: unknown) => context.logError(`mcp: reading the tools failed: ${error instanceof Error ? error.stack : String(error)}`));
  return context.tools.entries();
}

/** Every list comes in one page: no nextCursor is ever given, so any cursor is one this server did not make (-32602). */
export function refuseCursor(sdk: McpSdkTypes, cursor: string | undefined, what: string): void {
  if (cursor === undefined) return;
  throw new sdk.McpError(
    sdk.ErrorCode.InvalidParams,
    `invalid cursor ${JSON.stringify(cursor.slice(0, 100))}: this server lists every ${what} in one page; list again without a cursor.`,
  );
}
