import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { McpToolEntry } from "./mcp-tool-catalog.ts";
import type { McpToolSet } from "./mcp-tool-set.ts";

export type McpToolServerOptions = {
  tools: McpToolSet;
  version: string;
  /** Why a tool may not run through this server (undefined when it may), e.g. serve's HTTP policy. */
  refuse?: (entry: McpToolEntry) => string | undefined;
  /** Where unexpected errors go (never stdout: on stdio that is the protocol's). */
  logError: (line: string) => void;
};

const MAX_TEXT = 100_000;

function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/**
 * An MCP server (the SDK's low-level `Server`) offering the tool set: list with input and output schemas and
 * annotations, calls run through the set's sandboxed runners, a failure an `isError` result naming the
 * reason (never a crash), and `notifications/tools/list_changed` after each change of the set. As the spec
 * says, a call of an unknown tool and a `cursor` this server never gave are JSON-RPC errors -32602.
 */
export async function createMcpToolServer(options: McpToolServerOptions): Promise<{ server: Server; dispose(): void }> {
  // The SDK (and the JSON Schema validator it brings) loads with the first server: `serve` starts without it, and
  // loads it from node_modules with its first request to /mcp, while org's own modules stay those it started with.
  const [{ Server }, { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError }] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/index.js"),
    import("@modelcontextprotocol/sdk/types.js"),
  ]);
  const server = new Server(
    { name: "org", title: "org generated tools", version: options.version },
    {
      capabilities: { tools: { listChanged: true } },
      instructions: "Tools org's toolsmith wrote, validated and promoted, and the workspace's workflows. Every call runs in a sandbox without network.",
    },
  );
  server.onerror = (error) => options.logError(`mcp: ${error.stack ?? error.message}`);

  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    // The list comes in one page: no nextCursor is ever given, so any cursor is one this server did not make.
    const cursor = request.params?.cursor;
    if (cursor !== undefined) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `invalid cursor ${JSON.stringify(cursor.slice(0, 100))}: this server lists every tool in one page; call tools/list without a cursor.`,
      );
    }
    await options.tools
      .refresh()
      .catch((error: unknown) => options.logError(`mcp: reading the tools failed: ${error instanceof Error ? error.stack : String(error)}`));
    return {
      tools: options.tools.entries().map((entry) => ({
        name: entry.name,
        title: entry.annotations.title ?? entry.name,
        description: entry.description,
        // MCP takes object schemas only; the catalog's already are (a tool's inputs and a workflow's are checked to be).
        inputSchema: { ...entry.inputSchema, type: "object" as const },
        ...(entry.outputSchema ? { outputSchema: { ...entry.outputSchema, type: "object" as const } } : {}),
        annotations: entry.annotations,
      })),
    };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name } = request.params;
    const entry = options.tools.find(name);
    if (!entry) {
      const names = options.tools.entries().map((tool) => tool.name);
      throw new McpError(
        ErrorCode.InvalidParams,
        `unknown tool "${name.slice(0, 100)}"; the tools are: ${names.join(", ") || "(none yet)"}. List them again with tools/list.`,
      );
    }
    const refused = options.refuse?.(entry);
    if (refused) return errorResult(refused);
    try {
      const result = await entry.run(request.params.arguments ?? {}, extra.signal);
      if (!result.ok) return errorResult(`Error: ${result.error}`);
      const text = JSON.stringify(result.output) ?? "null";
      const structured = entry.wrapsOutput ? { result: result.output } : result.output;
      return {
        content: [{ type: "text", text: text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}… (cut at ${MAX_TEXT} characters)` : text }],
        ...(entry.outputSchema && isObject(structured) ? { structuredContent: structured } : {}),
      };
    } catch (error) {
      if (extra.signal.aborted) return errorResult("the call was cancelled.");
      options.logError(`mcp: ${name} failed: ${error instanceof Error ? error.stack : String(error)}`);
      return errorResult(`${name} failed inside org (${error instanceof Error ? error.message : String(error)}); the server's log has the details.`);
    }
  });

  const stop = options.tools.onChange(() => {
    server.sendToolListChanged().catch(() => {
      // Not connected (yet or any more): the client lists again when it connects.
    });
  });
  return { server, dispose: stop };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
