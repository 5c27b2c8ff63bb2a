// The scripted server's window: how it counts a prompt's tokens, and what it does with one that does not fit.
import { isJsonRecord } from "./json-record.ts";
import { messageText } from "./match-rule.ts";

/** Tokens one message costs besides its text: the role and the template's markers around it. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** What a model server does with a prompt over its window: refuse it (vLLM, llama.cpp) or drop the oldest messages (Ollama). */
export type ContextOverflow = "refuse" | "drop";

/** The scripted server's window: its size in tokens, and what it does past it. */
export type ScriptedWindow = { tokens: number; overflow: ContextOverflow };

/**
 * The counting rule: a message is `ceil(chars / 4) + 4` tokens, where chars is its text's length plus the JSON length of
 * its `tool_calls`; the tools offered are `ceil(JSON.stringify(tools).length / 4)`. Stated so that a client's estimate
 * can be checked against it (scripted-server/README.md).
 */
export function messageTokens(message: Record<string, unknown>): number {
  const calls = message.tool_calls !== undefined ? JSON.stringify(message.tool_calls).length : 0;
  return Math.ceil((messageText(message.content).length + calls) / 4) + MESSAGE_OVERHEAD_TOKENS;
}

/** The tokens of the tools a request offers, by the counting rule (none offered: 0). */
export function toolsTokens(tools: unknown): number {
  return Array.isArray(tools) && tools.length > 0 ? Math.ceil(JSON.stringify(tools).length / 4) : 0;
}

/** A prompt fitted to the window: the messages the model sees, their tokens, and how many old ones were dropped. */
export type FittedPrompt = { messages: Record<string, unknown>[]; promptTokens: number; dropped: number; window: number };

/** A prompt refused: its tokens and the window it did not fit. */
export type RefusedPrompt = { refused: true; promptTokens: number; window: number };

/**
 * `messages` within `window` tokens: all of them when they fit; else refused, or (`drop`, as Ollama does) without the
 * oldest messages that are not system messages, one by one, until they fit or only the newest is left besides them.
 */
export function fitPrompt(messages: Record<string, unknown>[], tools: unknown, window: ScriptedWindow): FittedPrompt | RefusedPrompt {
  const costs = messages.map(messageTokens);
  let total = toolsTokens(tools) + costs.reduce((sum, cost) => sum + cost, 0);
  if (total <= window.tokens) return { messages, promptTokens: total, dropped: 0, window: window.tokens };
  if (window.overflow === "refuse") return { refused: true, promptTokens: total, window: window.tokens };
  const kept = messages.map(() => true);
  let dropped = 0;
  for (let index = 0; index < messages.length - 1 && total > window.tokens; index += 1) {
    if (messages[index]?.role === "system") continue;
    kept[index] = false;
    total -= costs[index] ?? 0;
    dropped += 1;
  }
  return { messages: messages.filter((_, index) => kept[index]), promptTokens: total, dropped, window: window.tokens };
}

/** vLLM's refusal of a prompt over its window (HTTP 400): its error body, its words. */
export function vllmOverflowBody(refused: RefusedPrompt, maxTokens: unknown): Record<string, unknown> {
  const completion = typeof maxTokens === "number" && Number.isInteger(maxTokens) && maxTokens > 0 ? maxTokens : 0;
  return {
    object: "error",
    message:
      `This model's maximum context length is ${refused.window} tokens. However, you requested ${refused.promptTokens + completion} tokens ` +
      `(${refused.promptTokens} in the messages, ${completion} in the completion). Please reduce the length of the messages or completion.`,
    type: "BadRequestError",
    param: null,
    code: 400,
  };
}

/** The window a native `/api/chat` request runs at: its `options.num_ctx` when it gives a sane one (never past `trained`), else `defaultTokens`. */
export function requestedWindow(body: Record<string, unknown>, defaultTokens: number, trained: number): number {
  const options = isJsonRecord(body.options) ? body.options : {};
  const asked = options.num_ctx;
  return typeof asked === "number" && Number.isInteger(asked) && asked > 0 ? Math.min(asked, trained) : defaultTokens;
}
