import type { Reply } from "./script.ts";
import { ALNUM, goJson, isOllama, type Json, prepare, type RenderContext, randomFrom } from "./prepare-reply.ts";
/** The `chat.completion` body for a request with `stream: false`. */
export function renderCompletion(reply: Reply, context: RenderContext): string {
  const prepared = prepare(reply, context);
  const created = Math.floor(Date.now() / 1000);
  const wire = reply.wire;
  if (isOllama(wire)) {
    const message: Json = { role: "assistant", content: prepared.content };
    if (prepared.reasoning !== "") message.reasoning = prepared.reasoning;
    if (prepared.calls.length > 0) {
      message.tool_calls = prepared.calls.map((call, index) => ({
        id: call.id,
        index: wire === "ollama-index-bug" ? 0 : index,
        type: "function",
        function: { name: call.name, arguments: call.arguments },
      }));
    }
    return `${goJson({
      id: `chatcmpl-${Math.floor(Math.random() * 999)}`,
      object: "chat.completion",
      created,
      model: context.model,
      system_fingerprint: "fp_ollama",
      choices: [{ index: 0, message, finish_reason: prepared.finishReason }],
      usage: prepared.usage,
    })}\n`;
  }
  const message: Json = {
    role: "assistant",
    content: prepared.content === "" && prepared.calls.length > 0 ? null : prepared.content,
  };
  if (prepared.reasoning !== "") message.reasoning_content = prepared.reasoning;
  if (wire === "openai") message.refusal = null;
  if (prepared.calls.length > 0) {
    message.tool_calls = prepared.calls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  return JSON.stringify({
    id: `chatcmpl-${randomFrom(ALNUM, 29)}`,
    object: "chat.completion",
    created,
    model: context.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: prepared.finishReason }],
    usage: prepared.usage,
  });
}
