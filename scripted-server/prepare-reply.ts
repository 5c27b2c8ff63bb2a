// What every wire format shares: the reply resolved to text, reasoning and calls, ids, and Go's JSON escapes.
import { embedToolCalls } from "./embed-tool-calls.ts";
import type { Reply } from "./script.ts";

export type Wire = Reply["wire"];
export type Json = Record<string, unknown>;

export type RenderContext = {
  model: string;
  includeUsage: boolean;
  promptTokens: number;
};

export const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
export const HEX = "0123456789abcdef";
export const randomFrom = (alphabet: string, length: number) =>
  Array.from({ length }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join("");

/** Go's encoding/json escapes <, >, & and U+2028/9 even inside strings; Ollama's bytes carry them that way. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export const isOllama = (wire: Wire) => wire === "ollama-new" || wire === "ollama-old" || wire === "ollama-index-bug";

export function pieces(text: string, size: number): string[] {
  const characters = [...text];
  const result: string[] = [];
  for (let start = 0; start < characters.length; start += size) result.push(characters.slice(start, start + size).join(""));
  return result;
}

export type Prepared = {
  reasoning: string;
  content: string;
  calls: { id: string; name: string; arguments: string }[];
  finishReason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
};

export function prepare(reply: Reply, context: RenderContext): Prepared {
  const wire = reply.wire;
  const thinkInContent = reply.reasoningAs === "think" || (reply.reasoningAs === undefined && wire === "openai");
  const reasoning = reply.reasoning ?? "";
  let content = reply.text ?? "";
  const nativeCalls = reply.embedded ? [] : (reply.toolCalls ?? []);
  if (reply.embedded && reply.toolCalls && reply.toolCalls.length > 0) {
    const written = embedToolCalls(reply.toolCalls, reply.embedded);
    // `{{calls}}` places them inside the prose (prose before and after, as a chatty model writes); else they follow it.
    content = content.includes("{{calls}}") ? content.replace("{{calls}}", () => written) : content === "" ? written : `${content}\n\n${written}`;
  }
  if (thinkInContent && reasoning !== "") content = `<think>${reasoning}</think>\n\n${content}`;
  const calls = nativeCalls.map((call) => ({
    id:
      wire === "openai"
        ? `call_${randomFrom(ALNUM, 24)}`
        : wire === "vllm"
          ? `chatcmpl-tool-${randomFrom(HEX, 32)}`
          : wire === "llamacpp"
            ? randomFrom(ALNUM, 32)
            : `call_${randomFrom(LOWER_ALNUM, 8)}`,
    name: call.name,
    // Go marshals the arguments map itself, HTML escapes included.
    arguments: isOllama(wire) ? goJson(call.arguments) : JSON.stringify(call.arguments),
  }));
  const generated = (thinkInContent ? "" : reasoning) + content + calls.map((call) => call.name + call.arguments).join("");
  const completionTokens = Math.max(1, Math.ceil(generated.length / 4));
  return {
    reasoning: thinkInContent ? "" : reasoning,
    content,
    calls,
    finishReason: calls.length > 0 ? "tool_calls" : "stop",
    usage:
      typeof reply.usage === "object"
        ? { ...reply.usage, total_tokens: reply.usage.prompt_tokens + reply.usage.completion_tokens }
        : {
            prompt_tokens: context.promptTokens,
            completion_tokens: completionTokens,
            total_tokens: context.promptTokens + completionTokens,
          },
  };
}
