// Ollama's own chat API (`POST /api/chat`): streamed NDJSON, whole tool calls with their arguments as objects, and
// `options.num_ctx` as the window the request runs at.
import { sleep } from "../concurrency/sleep.ts";
import { isJsonRecord } from "./json-record.ts";
import type { ChatRequestView, RuleMatcher } from "./match-rule.ts";
import { goJson, pieces, prepare } from "./prepare-reply.ts";
import { fitPrompt, requestedWindow, type ScriptedWindow } from "./prompt-window.ts";
import type { Reply, Script } from "./script.ts";

/** What the route needs of the server: the script, its rules, and its window (with the model's trained length). */
export type OllamaChatContext = {
  script: Script;
  matcher: RuleMatcher;
  isServed: (model: string) => boolean;
  window: (ScriptedWindow & { trained: number }) | undefined;
  faultMessage: (status: number) => string;
};

/** What the request log keeps of a request's window: the size it ran at, its prompt's tokens, the messages dropped. */
export type WindowRecord = { tokens: number; promptTokens: number; dropped: number };

const NDJSON_HEADERS = { "content-type": "application/x-ndjson" };
const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

/** Ollama's native error body: `{"error": "…"}`. */
export function ollamaError(status: number, message: string): Response {
  return new Response(`${goJson({ error: message })}\n`, { status, headers: JSON_HEADERS });
}

/** A request's messages as the rules read them: a tool result's `tool_name` as its name, a call's arguments as JSON text. */
function viewMessages(messages: Record<string, unknown>[]): ChatRequestView["messages"] {
  return messages.map((message) => ({
    ...message,
    ...(typeof message.tool_name === "string" ? { name: message.tool_name } : {}),
    ...(Array.isArray(message.tool_calls)
      ? {
          tool_calls: message.tool_calls.map((call: unknown) =>
            isJsonRecord(call) && isJsonRecord(call.function)
              ? { ...call, function: { ...call.function, arguments: JSON.stringify(call.function.arguments ?? {}) } }
              : call,
          ),
        }
      : {}),
  }));
}

/** `POST /api/chat`: the request checked as Ollama does, fitted to its window, then the first matching rule's reply. */
export async function ollamaChatResponse(
  context: OllamaChatContext,
  request: Request,
  record: { body: unknown; outcome?: string; window?: WindowRecord },
): Promise<Response> {
  const fields = record.body;
  if (!isJsonRecord(fields)) return ollamaError(400, "invalid request body");
  const model = typeof fields.model === "string" ? fields.model : "";
  if (model === "") return ollamaError(400, "model is required");
  if (!context.isServed(model)) return ollamaError(404, `model "${model}" not found, try pulling it first`);
  if (fields.messages !== undefined && !Array.isArray(fields.messages)) return ollamaError(400, "invalid messages: not a list");
  let messages = Array.isArray(fields.messages) ? fields.messages.filter(isJsonRecord) : [];
  const created = new Date().toISOString();
  if (messages.length === 0) {
    return new Response(`${goJson({ model, created_at: created, message: { role: "assistant", content: "" }, done_reason: "load", done: true })}\n`, {
      headers: JSON_HEADERS,
    });
  }
  const tools = fields.tools;
  let promptTokens = Math.max(1, Math.ceil(messages.reduce((sum, message) => sum + String(message.content ?? "").length, 0) / 4));
  if (context.window) {
    const tokens = requestedWindow(fields, context.window.tokens, context.window.trained);
    const fitted = fitPrompt(messages, tools, { tokens, overflow: context.window.overflow });
    if ("refused" in fitted) {
      record.window = { tokens, promptTokens: fitted.promptTokens, dropped: 0 };
      record.outcome = "over the window";
      return ollamaError(
        400,
        `the request (${fitted.promptTokens} tokens) exceeds the available context size (${tokens} tokens), try increasing num_ctx`,
      );
    }
    record.window = { tokens, promptTokens: fitted.promptTokens, dropped: fitted.dropped };
    messages = fitted.messages;
    promptTokens = fitted.promptTokens;
  }
  const toolNames = Array.isArray(tools)
    ? tools.flatMap((tool) =>
        isJsonRecord(tool) && isJsonRecord(tool.function) && typeof tool.function.name === "string" ? [tool.function.name] : [],
      )
    : [];
  const { reply, ruleIndex } = context.matcher.pick({ model, messages: viewMessages(messages), toolNames });
  record.outcome = typeof ruleIndex === "number" ? `rule ${ruleIndex}` : ruleIndex === "none" ? "no rule matched" : ruleIndex;
  await sleep(reply.firstByteDelayMs, request.signal);
  if (request.signal.aborted) return new Response(null, { status: 499 });
  if (reply.fault && "status" in reply.fault) return ollamaError(reply.fault.status, reply.fault.message ?? context.faultMessage(reply.fault.status));
  const lines = ndjsonLines(reply, model, promptTokens, created);
  if (fields.stream === false) return new Response(`${lines.whole}\n`, { headers: JSON_HEADERS });
  return new Response(ndjsonBody(reply, lines.stream, request.signal), { headers: NDJSON_HEADERS });
}

/** A reply as Ollama's NDJSON lines (thinking, content, one line per tool call, the `done` line with the counts), and as one whole answer. */
function ndjsonLines(reply: Reply, model: string, promptTokens: number, created: string): { stream: string[]; whole: string } {
  const prepared = prepare({ ...reply, wire: "ollama-new" }, { model, includeUsage: true, promptTokens });
  const line = (message: Record<string, unknown>, rest: Record<string, unknown> = { done: false }) =>
    goJson({ model, created_at: created, message: { role: "assistant", content: "", ...message }, ...rest });
  const calls = prepared.calls.map((call, index) => ({ id: call.id, function: { index, name: call.name, arguments: JSON.parse(call.arguments) } }));
  const stream: string[] = [];
  for (const piece of pieces(prepared.reasoning, reply.chunkSize)) stream.push(line({ thinking: piece }));
  for (const piece of pieces(prepared.content, reply.chunkSize)) stream.push(line({ content: piece }));
  for (const call of calls) stream.push(line({ tool_calls: [call] }));
  const counts = reply.usage === false ? {} : { prompt_eval_count: prepared.usage.prompt_tokens, eval_count: prepared.usage.completion_tokens };
  const done = { done: true, done_reason: "stop", total_duration: 1_234_567_890, load_duration: 12_345_678, ...counts };
  stream.push(line({}, done));
  const whole = line(
    {
      content: prepared.content,
      ...(prepared.reasoning ? { thinking: prepared.reasoning } : {}),
      ...(calls.length > 0 ? { tool_calls: calls } : {}),
    },
    done,
  );
  return { stream, whole };
}

/** The lines streamed with the reply's pacing and faults: cut after N lines (mid-line, or by a dropped connection), or a broken line. */
function ndjsonBody(reply: Reply, lines: string[], signal: AbortSignal): ReadableStream<Uint8Array> {
  const fault = reply.fault;
  const cutAfter = fault && "cutAfterChunks" in fault ? fault.cutAfterChunks : undefined;
  const malformedAfter = fault && "malformedAfterChunks" in fault ? fault.malformedAfterChunks : undefined;
  const encoder = new TextEncoder();
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      for (const [index, text] of lines.entries()) {
        if (index > 0) await sleep(reply.delayMs, signal);
        if (cancelled || signal.aborted) return;
        if (cutAfter !== undefined && index >= cutAfter) {
          if (fault && "cutAfterChunks" in fault && fault.midEvent === true)
            controller.enqueue(encoder.encode(text.slice(0, Math.ceil(text.length / 2))));
          if (fault && "cutAfterChunks" in fault && fault.reset === true) {
            await new Promise((resolve) => setImmediate(resolve));
            controller.error(new Error("scripted fault: the connection is dropped mid-stream (cutAfterChunks with reset)"));
          } else controller.close();
          return;
        }
        if (malformedAfter !== undefined && index === malformedAfter) controller.enqueue(encoder.encode(`{"model":"x","message":{"content":\n`));
        controller.enqueue(encoder.encode(`${text}\n`));
      }
      controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
}
