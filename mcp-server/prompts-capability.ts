import type { McpCapability } from "./mcp-capability.ts";
import { entriesNow, refuseCursor } from "./mcp-capability.ts";
import { getPrompt, listPrompts, type PromptPersona } from "./mcp-prompts.ts";

/**
 * `prompts/list` and `prompts/get` (`mcp-prompts.ts`: one prompt per persona, one per workflow; a missing
 * argument or an unknown prompt is JSON-RPC -32602); after each change of the set, `notifications/prompts/list_changed`.
 */
export function promptsCapability(personas: readonly PromptPersona[]): McpCapability {
  return {
    declares: { prompts: { listChanged: true } },
    register(context) {
      const { server, sdk, tools } = context;
      server.setRequestHandler(sdk.ListPromptsRequestSchema, async (request) => {
        refuseCursor(sdk, request.params?.cursor, "prompt");
        return { prompts: listPrompts(personas, await entriesNow(context)) };
      });
      server.setRequestHandler(sdk.GetPromptRequestSchema, async (request) => {
        const got = getPrompt(request.params.name, request.params.arguments ?? {}, personas, await entriesNow(context));
        if (!got.ok) throw new sdk.McpError(sdk.ErrorCode.InvalidParams, got.error);
        return { description: got.description, messages: got.messages };
      });
      return tools.onChange(() => {
        server.sendPromptListChanged().catch(() => {
          // Not connected (yet or any more): the client lists again when it connects.
        });
      });
    },
  };
}
