import type { ChatRequest } from "./chat-once.ts";
import type { ChatMessage } from "./chat-types.ts";

/** `POST` here streams a completion on Ollama's own API: the server's root, whatever `/v1` its base URL ends in. */
export function ollamaChatUrl(baseUrl: string): string {
  return new URL("/api/chat", baseUrl).toString();
}

/** The smallest window org asks Ollama for: below it a model reload costs more than the memory saved. */
const SMALLEST_NUM_CTX = 2048;
/** The reply's room when the request does not say its window (`contextTokens`): what a reply of the room usually takes. */
const REPLY_ROOM = 2048;

/**
 * The `num_ctx` for a request that needs `needed` tokens (prompt and reply's reserve): the next power of two from 2048, so
 * a growing conversation changes it (and Ollama reloads the model) a few times, not at every message; at most `cap`, the
 * model's window as discovery found it.
 */
export function numCtxFor(needed: number, cap: number): number {
  let size = SMALLEST_NUM_CTX;
  while (size < needed && size < cap) size *= 2;
  return Math.min(size, cap);
}

/**
 * The `num_ctx` org has asked for each model of a server: a request asks at least that much again. Ollama reloads a model
 * whose `num_ctx` changes, so personas that share one model, or a short request after a long one, would reload it at
 * every turn; made once where the room's models are made (`httpModels`) and shared by them.
 */
export class NumCtxFloor {
  readonly #asked = new Map<string, number>();

  /** The `num_ctx` to ask for `model` at `server` when this request wants `wanted`, at most `cap`; remembered. */
  next(server: string, model: string, wanted: number, cap: number): number {
    const key = `${server} ${model}`;
    const size = Math.min(cap, Math.max(wanted, this.#asked.get(key) ?? 0));
    this.#asked.set(key, Math.max(size, this.#asked.get(key) ?? 0));
    return size;
  }
}

/** About the tokens a request holds when its sender did not say (`contextTokens`): four characters a token, and the reply's room. */
export function roughRequestTokens(request: Pick<ChatRequest, "messages" | "tools">): number {
  const characters = JSON.stringify(request.messages).length + (request.tools ? JSON.stringify(request.tools).length : 0);
  return Math.ceil(characters / 4) + REPLY_ROOM;
}

type OllamaMessage = {
  role: ChatMessage["role"];
  content: string;
  tool_calls?: { id: string; function: { name: string; arguments: Record<string, unknown> } }[];
  tool_name?: string;
  tool_call_id?: string;
};

/**
 * The conversation as `/api/chat` takes it: a call's arguments as an object (text that is not a JSON object goes as `{}`,
 * as Ollama refuses it), a tool result with the `tool_name` of the call it answers.
 */
export function ollamaMessages(messages: readonly ChatMessage[]): OllamaMessage[] {
  const callNames = new Map<string, string>();
  return messages.map((message): OllamaMessage => {
    if (message.role === "assistant") {
      const calls = (message.tool_calls ?? []).map((call) => {
        callNames.set(call.id, call.function.name);
        return { id: call.id, function: { name: call.function.name, arguments: argumentsObject(call.function.arguments) } };
      });
      return { role: "assistant", content: message.content ?? "", ...(calls.length > 0 ? { tool_calls: calls } : {}) };
    }
    if (message.role === "tool") {
      const name = message.name ?? callNames.get(message.tool_call_id);
      return { role: "tool", content: message.content, tool_call_id: message.tool_call_id, ...(name !== undefined ? { tool_name: name } : {}) };
    }
    return { role: message.role, content: message.content };
  });
}

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function argumentsObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : {};
  } catch {
    return {};
  }
}

/** The body of a streamed `/api/chat` request: the messages, the tools, and `options` with `num_ctx` and the sampling. */
export function ollamaChatBody(request: ChatRequest, numCtx: number): string {
  return JSON.stringify({
    model: request.model,
    messages: ollamaMessages(request.messages),
    stream: true,
    ...(request.tools && request.tools.length > 0 ? { tools: request.tools } : {}),
    options: { num_ctx: numCtx, ...request.sampling },
  });
}
