import type { ChatMessage, ToolDefinition } from "./chat-types.ts";
import type { Sampling } from "./chat-once.ts";
import { isRecord } from "./ollama-chat.ts";

/** The API version org speaks (the `anthropic-version` header): the Messages API as documented for it. */
export const ANTHROPIC_VERSION = "2023-06-01";

/** `max_tokens`, which the Messages API requires, when the request's `stopAt` does not say fewer: every Claude model takes it. */
export const ANTHROPIC_MAX_TOKENS = 4096;

type Block =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> }
  | { type: "tool_result"; tool_use_id: string; content: string };

type AnthropicMessage = { role: "user" | "assistant"; content: Block[] };

/** The headers that carry a server's key: `Bearer K` (the key rule's form, `server-keys.ts`) goes as `x-api-key: K`; other credentials (a URL's
 * Basic) as they are.
 */
export function anthropicHeaders(authorization: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { "anthropic-version": ANTHROPIC_VERSION };
  if (authorization?.startsWith("Bearer ")) headers["x-api-key"] = authorization.slice("Bearer ".length);
  else if (authorization) headers.authorization = authorization;
  return headers;
}

/** A tool call's id as Anthropic takes it (`[A-Za-z0-9_-]+`): the same id gives the same answer, for the call and its result. */
function blockId(id: string): string {
  const clean = id.replace(/[^A-Za-z0-9_-]/g, "_");
  return clean === "" ? "call" : clean;
}

function toolInput(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (isRecord(value)) return value;
  } catch {
    // a call whose arguments were not JSON is sent with none: its result already says what went wrong
  }
  return {};
}

/**
 * A conversation as the Messages API takes it: the system messages joined into `system`, assistant calls as `tool_use`
 * blocks, tool results as `tool_result` blocks of a user message, consecutive messages of one role merged (the API's
 * turns alternate, and a call's results must all follow it in one user message). An empty assistant turn is left out.
 */
export function anthropicConversation(messages: readonly ChatMessage[]): { system: string; messages: AnthropicMessage[] } {
  const system: string[] = [];
  const turns: AnthropicMessage[] = [];
  const push = (role: AnthropicMessage["role"], blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  for (const message of messages) {
    if (message.role === "system") system.push(message.content);
    else if (message.role === "user") push("user", message.content === "" ? [] : [{ type: "text", text: message.content }]);
    else if (message.role === "tool") push("user", [{ type: "tool_result", tool_use_id: blockId(message.tool_call_id), content: message.content }]);
    else {
      const blocks: Block[] = message.content ? [{ type: "text", text: message.content }] : [];
      for (const call of message.tool_calls ?? [])
        blocks.push({ type: "tool_use", id: blockId(call.id), name: call.function.name, input: toolInput(call.function.arguments) });
      push("assistant", blocks);
    }
  }
  return { system: system.join("\n\n"), messages: turns };
}

/** The body of `POST /v1/messages`: streamed, `max_tokens` set, tools as `{name, description, input_schema}`; a seed is not part of the API. */
export function anthropicBody(request: {
  model: string;
  messages: readonly ChatMessage[];
  tools?: readonly ToolDefinition[] | undefined;
  stopAt?: { tokens?: number } | undefined;
  sampling?: Sampling | undefined;
}): string {
  const { system, messages } = anthropicConversation(request.messages);
  const cap = request.stopAt?.tokens;
  const maxTokens = cap !== undefined && Number.isFinite(cap) ? Math.max(1, Math.min(ANTHROPIC_MAX_TOKENS, Math.ceil(cap))) : ANTHROPIC_MAX_TOKENS;
  const tools = request.tools ?? [];
  return JSON.stringify({
    model: request.model,
    max_tokens: maxTokens,
    ...(system !== "" ? { system } : {}),
    messages,
    stream: true,
    ...(request.sampling?.temperature !== undefined ? { temperature: request.sampling.temperature } : {}),
    ...(tools.length > 0
      ? { tools: tools.map((tool) => ({ name: tool.function.name, description: tool.function.description, input_schema: tool.function.parameters })) }
      : {}),
  });
}
