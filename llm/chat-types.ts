import { z } from "zod";

/** A tool call as it travels in an assistant message (OpenAI wire shape). */
export const WireToolCall = z.object({
  id: z.string(),
  type: z.literal("function"),
  function: z.object({ name: z.string(), arguments: z.string() }),
});
export type WireToolCall = z.infer<typeof WireToolCall>;

/** One message of a conversation, in the shape `/v1/chat/completions` takes. */
export const ChatMessage = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content: z.string() }),
  z.object({ role: z.literal("user"), content: z.string(), name: z.string().optional() }),
  z.object({
    role: z.literal("assistant"),
    content: z.string().nullable(),
    tool_calls: z.array(WireToolCall).optional(),
    name: z.string().optional(),
  }),
  z.object({ role: z.literal("tool"), content: z.string(), tool_call_id: z.string(), name: z.string().optional() }),
]);
export type ChatMessage = z.infer<typeof ChatMessage>;

/** A tool as the model sees it: name, description and JSON Schema of its arguments. */
export type ToolDefinition = {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
};

/** A tool call the client has finished assembling; arguments are parsed JSON. */
export type ToolCall = { id: string; name: string; arguments: Record<string, unknown> };

export type Usage = { promptTokens: number; completionTokens: number };

/** Events `chatOnce` reports while a completion streams. */
export type StreamEvent =
  | { type: "response-start"; status: number }
  | { type: "text-delta"; text: string }
  | { type: "reasoning-delta"; text: string }
  | { type: "tool-call"; call: ToolCall }
  | { type: "finish"; finishReason: string; usage?: Usage }
  | { type: "retry"; attempt: number; delayMs: number; reason: string };

export type ChatResult = {
  content: string;
  reasoning: string;
  finishReason: string;
  toolCalls: ToolCall[];
  usage?: Usage;
};
