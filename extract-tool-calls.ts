// Interim: only the Hermes <tool_call> form and <think> blocks. The full extractor replaces this file.
export type ExtractedToolCall = { name: string; arguments: Record<string, unknown> };

/** Finds tool calls a model wrote into its text; `<think>` blocks move to reasoning. */
export function extractToolCalls(
  text: string,
  options: { toolNames?: readonly string[] } = {},
): { content: string; reasoning: string; toolCalls: ExtractedToolCall[] } {
  const reasoning: string[] = [];
  let content = text.replace(/<think>([\s\S]*?)(?:<\/think>|$)/g, (_match, inner: string) => {
    reasoning.push(inner);
    return "";
  });
  const toolCalls: ExtractedToolCall[] = [];
  content = content.replace(/<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/g, (match, inner: string) => {
    try {
      const parsed = JSON.parse(inner) as { name?: unknown; arguments?: unknown };
      const allowed = !options.toolNames || options.toolNames.includes(String(parsed.name));
      if (typeof parsed.name === "string" && allowed && parsed.arguments && typeof parsed.arguments === "object") {
        toolCalls.push({ name: parsed.name, arguments: parsed.arguments as Record<string, unknown> });
        return "";
      }
    } catch {
      // not a call: stays content
    }
    return match;
  });
  return { content, reasoning: reasoning.join("\n"), toolCalls };
}
