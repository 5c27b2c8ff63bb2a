// The request checks Ollama's /v1/chat/completions makes before it runs a model, so a client that sends
// what Ollama refuses fails against the scripted server too.
import { isJsonRecord } from "./json-record.ts";

export type ChatRequestProblem = { status: 400 | 404; message: string };

const REASONING_EFFORTS = ["", "none", "minimal", "low", "medium", "high", "max", "xhigh", "ultra"];

function isJsonText(text: unknown): boolean {
  if (typeof text !== "string") return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** What Ollama would answer with instead of a completion, or undefined when the request is fine. */
export function checkChatRequest(fields: Record<string, unknown>, isServed: (model: string) => boolean): ChatRequestProblem | undefined {
  const model = typeof fields.model === "string" ? fields.model : "";
  if (model === "") return { status: 400, message: "model is required" };
  const messages: unknown[] = Array.isArray(fields.messages) ? fields.messages : [];
  if (messages.length === 0) return { status: 400, message: "[] is too short - 'messages'" };
  for (const message of messages) {
    if (!message || typeof message !== "object") return { status: 400, message: "invalid message format" };
    // A list where a message belongs has neither content nor calls.
    const { content, tool_calls: toolCalls } = isJsonRecord(message) ? message : {};
    const calls: unknown[] = Array.isArray(toolCalls) ? toolCalls : [];
    if ((content === null || content === undefined) && calls.length === 0) return { status: 400, message: "invalid message content type: <nil>" };
    for (const call of calls) {
      const called = isJsonRecord(call) ? call.function : undefined;
      if (!isJsonText(isJsonRecord(called) ? called.arguments : undefined)) return { status: 400, message: "invalid tool call arguments" };
    }
  }
  const effort = fields.reasoning_effort ?? (isJsonRecord(fields.reasoning) ? fields.reasoning.effort : undefined);
  if (effort !== undefined && (typeof effort !== "string" || !REASONING_EFFORTS.includes(effort))) {
    return {
      status: 400,
      message: `invalid reasoning value: ${JSON.stringify(effort)} (must be "minimal", "low", "medium", "high", "xhigh", "ultra", "max", or "none")`,
    };
  }
  if (!isServed(model)) return { status: 404, message: `model "${model}" not found, try pulling it first` };
  return undefined;
}
