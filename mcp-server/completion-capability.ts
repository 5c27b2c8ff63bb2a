import type { McpCapability } from "./mcp-capability.ts";
import { entriesNow } from "./mcp-capability.ts";
import { completeTemplateVariable } from "./mcp-resources.ts";
import { completePromptArgument, type PromptPersona } from "./mcp-prompts.ts";
import { offeredReports } from "./tool-reports.ts";

const MAX_COMPLETIONS = 100;

/**
 * `completion/complete`: a prompt's argument (a workflow input's enum) or a resource template's variable (tool
 * and workflow names, a tool's report numbers), at most 100 values; an unknown prompt or template is -32602.
 */
export function completionCapability(personas: readonly PromptPersona[]): McpCapability {
  return {
    declares: { completions: {} },
    register(context) {
      const { sdk } = context;
      context.server.setRequestHandler(sdk.CompleteRequestSchema, async (request) => {
        const { ref, argument, context: known } = request.params;
        const entries = await entriesNow(context);
        const values =
          ref.type === "ref/prompt"
            ? completePromptArgument(ref.name, argument.name, argument.value, personas, entries)
            : await completeTemplateVariable(ref.uri, argument.name, argument.value, known?.arguments, entries, () =>
                offeredReports(context.tools.entries()),
              );
        if (values === undefined) {
          throw new sdk.McpError(
            sdk.ErrorCode.InvalidParams,
            ref.type === "ref/prompt"
              ? `unknown prompt ${JSON.stringify(ref.name.slice(0, 100))}; prompts/list names them`
              : `unknown resource template ${JSON.stringify(ref.uri.slice(0, 200))}; resources/templates/list names them`,
          );
        }
        return { completion: { values: values.slice(0, MAX_COMPLETIONS), total: values.length, hasMore: values.length > MAX_COMPLETIONS } };
      });
      return undefined;
    },
  };
}
