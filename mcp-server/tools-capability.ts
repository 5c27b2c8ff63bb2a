import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { McpBuiltInCall, McpBuiltInTool, McpCapability, McpOfferedTool } from "./mcp-capability.ts";
import { entriesNow, refuseCursor } from "./mcp-capability.ts";
import { callMcpTool, toolError } from "./mcp-tool-call.ts";

export type ToolsCapabilityOptions = {
  /** Why a tool may not run through this server (undefined when it may), e.g. serve's HTTP policy. */
  refuse?: (tool: McpOfferedTool) => string | undefined;
  /** The room's tools this server offers first (the browser); a catalog tool of the same name is not offered. */
  builtIns?: readonly McpBuiltInTool[];
  /** How often a call that carries a progressToken hears that it still runs. */
  progressEveryMs: number;
};

/**
 * `tools/list` (the built-ins, then the catalog's: input and output schemas, annotations), `tools/call` (a built-in's
 * own `call`, else `callMcpTool`; a tool `refuse` names is an `isError` result) and, after each change of the set,
 * `notifications/tools/list_changed` and a notice.
 * As the spec says, a call of an unknown tool is JSON-RPC error -32602.
 */
export function toolsCapability(options: ToolsCapabilityOptions): McpCapability {
  return {
    declares: { tools: { listChanged: true } },
    register(context) {
      const { server, sdk, tools } = context;
      const builtIns = options.builtIns ?? [];
      const builtInNamed = (name: string) => builtIns.find((tool) => tool.name === name);
      server.setRequestHandler(sdk.ListToolsRequestSchema, async (request) => {
        refuseCursor(sdk, request.params?.cursor, "tool");
        const catalog = (await entriesNow(context)).filter((entry) => !builtInNamed(entry.name));
        return {
          tools: [...builtIns, ...catalog].map((tool) => ({
            name: tool.name,
            title: tool.annotations.title ?? tool.name,
            description: tool.description,
            // MCP takes object schemas only; the catalog's already are (a tool's inputs and a workflow's are checked to be).
            inputSchema: { ...tool.inputSchema, type: "object" as const },
            ...("outputSchema" in tool && tool.outputSchema ? { outputSchema: { ...tool.outputSchema, type: "object" as const } } : {}),
            annotations: tool.annotations,
          })),
        };
      });
      server.setRequestHandler(sdk.CallToolRequestSchema, async (request, extra) => {
        const { name } = request.params;
        const builtIn = builtInNamed(name);
        if (builtIn) {
          const refused = options.refuse?.(builtIn);
          if (refused) return toolError(refused);
          const elicit: McpBuiltInCall["elicit"] = (params, { signal, timeoutMs }) =>
            extra.sendRequest({ method: "elicitation/create", params }, sdk.ElicitResultSchema, { signal, timeout: timeoutMs });
          return builtIn.call(request.params.arguments ?? {}, { signal: extra.signal, ...(takesForms(server) ? { elicit } : {}) });
        }
        const entry = tools.find(name);
        if (!entry) {
          const names = [...builtIns.map((tool) => tool.name), ...tools.entries().map((tool) => tool.name)];
          throw new sdk.McpError(
            sdk.ErrorCode.InvalidParams,
            `unknown tool "${name.slice(0, 100)}"; the tools are: ${names.join(", ") || "(none yet)"}. List them again with tools/list.`,
          );
        }
        const refused = options.refuse?.(entry);
        if (refused) return toolError(refused);
        const call = { signal: extra.signal, sendNotification: extra.sendNotification, progressToken: request.params._meta?.progressToken };
        return callMcpTool(entry, request.params.arguments ?? {}, call, {
          log: context.log,
          logError: context.logError,
          progressEveryMs: options.progressEveryMs,
        });
      });
      return tools.onChange(() => {
        server.sendToolListChanged().catch(() => {
          // Not connected (yet or any more): the client lists again when it connects.
        });
        const names = tools.entries().map((entry) => entry.name);
        context.log.send("notice", `the tools changed: ${names.join(", ") || "none"}`);
      });
    },
  };
}

/** Whether the client declared form elicitation: `elicitation: { form: {} }`, or an empty `elicitation` (before modes). */
function takesForms(server: Server): boolean {
  const elicitation = server.getClientCapabilities()?.elicitation;
  return elicitation !== undefined && (elicitation.form !== undefined || Object.keys(elicitation).length === 0);
}
