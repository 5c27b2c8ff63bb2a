// Anthropic's Messages API (`POST /v1/messages`): the request checked as Anthropic checks it, the first matching rule's
// reply streamed as its SSE events (`message_start`, `content_block_*`, `ping`, `message_delta`, `message_stop`).
import { sleep } from "../concurrency/sleep.ts";
import { isJsonRecord } from "./json-record.ts";
import type { ChatRequestView, RuleMatcher } from "./match-rule.ts";
import { pieces, prepare, randomFrom, ALNUM } from "./prepare-reply.ts";
import type { Reply } from "./script.ts";

/** What the route needs of the server: the rules, and which models it serves. */
export type AnthropicContext = { matcher: RuleMatcher; isServed: (model: string) => boolean; faultMessage: (status: number) => string };

const JSON_HEADERS = { "content-type": "application/json" };

/** Anthropic's error type for each status it answers with. */
const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

/** Anthropic's error body: `{"type":"error","error":{"type","message"}}`, with `retry-after` when given. */
export function anthropicError(status: number, message: string, retryAfterS?: number): Response {
  const body = { type: "error", error: { type: ERROR_TYPES[status] ?? "api_error", message } };
  const headers = retryAfterS === undefined ? JSON_HEADERS : { ...JSON_HEADERS, "retry-after": String(retryAfterS) };
  return new Response(JSON.stringify(body), { status, headers });
}

/** A request's system field and messages as the rules read them: OpenAI's roles, a `tool_result` as a tool message named by its call. */
export function anthropicView(system: unknown, messages: readonly Record<string, unknown>[]): ChatRequestView["messages"] {
  const view: ChatRequestView["messages"] = [];
  const names = new Map<string, string>();
  const systemText =
    typeof system === "string"
      ? system
      : Array.isArray(system)
        ? system.map((block) => (isJsonRecord(block) ? String(block.text ?? "") : "")).join("")
        : "";
  if (systemText !== "") view.push({ role: "system", content: systemText });
  for (const message of messages) {
    const blocks =
      typeof message.content === "string"
        ? [{ type: "text", text: message.content }]
        : Array.isArray(message.content)
          ? message.content.filter(isJsonRecord)
          : [];
    const text = blocks.flatMap((block) => (block.type === "text" && typeof block.text === "string" ? [block.text] : [])).join("");
    if (message.role === "assistant") {
      const calls = blocks.flatMap((block) =>
        block.type === "tool_use" && typeof block.id === "string" && typeof block.name === "string"
          ? [{ id: block.id, type: "function", function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } }]
          : [],
      );
      for (const call of calls) names.set(call.id, call.function.name);
      view.push({ role: "assistant", content: text, ...(calls.length > 0 ? { tool_calls: calls } : {}) });
      continue;
    }
    for (const block of blocks) {
      if (block.type !== "tool_result" || typeof block.tool_use_id !== "string") continue;
      const content =
        typeof block.content === "string"
          ? block.content
          : Array.isArray(block.content)
            ? block.content.map((part) => (isJsonRecord(part) ? String(part.text ?? "") : "")).join("")
            : "";
      view.push({ role: "tool", tool_call_id: block.tool_use_id, name: names.get(block.tool_use_id), content });
    }
    if (text !== "") view.push({ role: "user", content: text });
  }
  return view;
}

/** `POST /v1/messages`: model, `max_tokens` and messages checked, then the first matching rule's reply, streamed or whole. */
export async function anthropicMessagesResponse(
  context: AnthropicContext,
  request: Request,
  record: { body: unknown; outcome?: string },
): Promise<Response> {
  const fields = record.body;
  if (!request.headers.get("anthropic-version")) return anthropicError(400, "anthropic-version: header is required");
  if (!isJsonRecord(fields)) return anthropicError(400, "request body must be a JSON object");
  const model = typeof fields.model === "string" ? fields.model : "";
  if (model === "") return anthropicError(400, "model: Field required");
  if (typeof fields.max_tokens !== "number") return anthropicError(400, "max_tokens: Field required");
  if (!Array.isArray(fields.messages)) return anthropicError(400, "messages: Field required");
  if (!context.isServed(model)) return anthropicError(404, `model: ${model}`);
  const messages = anthropicView(fields.system, fields.messages.filter(isJsonRecord));
  const toolNames = Array.isArray(fields.tools)
    ? fields.tools.flatMap((tool) => (isJsonRecord(tool) && typeof tool.name === "string" ? [tool.name] : []))
    : [];
  const { reply, ruleIndex } = context.matcher.pick({ model, messages, toolNames });
  record.outcome = typeof ruleIndex === "number" ? `rule ${ruleIndex}` : ruleIndex === "none" ? "no rule matched" : ruleIndex;
  await sleep(reply.firstByteDelayMs, request.signal);
  if (request.signal.aborted) return new Response(null, { status: 499 });
  if (reply.fault && "status" in reply.fault) {
    return anthropicError(reply.fault.status, reply.fault.message ?? context.faultMessage(reply.fault.status), reply.fault.retryAfterS);
  }
  const promptTokens = Math.max(1, Math.ceil(messages.reduce((sum, message) => sum + String(message.content ?? "").length, 0) / 4));
  const events = anthropicEvents(reply, model, promptTokens);
  if (fields.stream !== true) return new Response(JSON.stringify(events.whole), { headers: JSON_HEADERS });
  return new Response(eventStream(reply, events.stream, request.signal), { headers: { "content-type": "text/event-stream; charset=utf-8" } });
}

type Event = { type: string } & Record<string, unknown>;

/** A reply as Anthropic's events (a `thinking` block, a `text` block, one `tool_use` block per call with its input in pieces), and as one message. */
export function anthropicEvents(reply: Reply, model: string, promptTokens: number): { stream: Event[]; whole: Record<string, unknown> } {
  const prepared = prepare({ ...reply, wire: "ollama-new" }, { model, includeUsage: true, promptTokens });
  const id = `msg_${randomFrom(ALNUM, 24)}`;
  const usage = prepared.usage;
  const stream: Event[] = [
    {
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: usage.prompt_tokens, output_tokens: 1 },
      },
    },
  ];
  const content: Record<string, unknown>[] = [];
  const block = (start: Record<string, unknown>, deltas: Record<string, unknown>[], whole: Record<string, unknown>) => {
    const index = content.length;
    content.push(whole);
    stream.push({ type: "content_block_start", index, content_block: start });
    for (const delta of deltas) stream.push({ type: "content_block_delta", index, delta });
    stream.push({ type: "content_block_stop", index });
  };
  if (prepared.reasoning !== "") {
    const signature = randomFrom(ALNUM, 40);
    block(
      { type: "thinking", thinking: "" },
      [
        ...pieces(prepared.reasoning, reply.chunkSize).map((thinking) => ({ type: "thinking_delta", thinking })),
        { type: "signature_delta", signature },
      ],
      { type: "thinking", thinking: prepared.reasoning, signature },
    );
  }
  if (prepared.content !== "") {
    block(
      { type: "text", text: "" },
      pieces(prepared.content, reply.chunkSize).map((text) => ({ type: "text_delta", text })),
      { type: "text", text: prepared.content },
    );
    stream.push({ type: "ping" });
  }
  for (const call of prepared.calls) {
    const toolId = `toolu_${randomFrom(ALNUM, 24)}`;
    block(
      { type: "tool_use", id: toolId, name: call.name, input: {} },
      pieces(call.arguments, Math.max(1, reply.chunkSize)).map((partial_json) => ({ type: "input_json_delta", partial_json })),
      { type: "tool_use", id: toolId, name: call.name, input: JSON.parse(call.arguments) },
    );
  }
  const stopReason = prepared.calls.length > 0 ? "tool_use" : "end_turn";
  const output = reply.usage === false ? {} : { usage: { output_tokens: usage.completion_tokens } };
  stream.push({ type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, ...output });
  stream.push({ type: "message_stop" });
  const whole = {
    id,
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens },
  };
  return { stream, whole };
}

/** The events with the reply's pacing; `cutAfterChunks` ends the body after N events (mid-event with `midEvent`). */
function eventStream(reply: Reply, events: Event[], signal: AbortSignal): ReadableStream<Uint8Array> {
  const fault = reply.fault;
  const cutAfter = fault && "cutAfterChunks" in fault ? fault.cutAfterChunks : undefined;
  const encoder = new TextEncoder();
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      for (const [index, event] of events.entries()) {
        if (index > 0) await sleep(reply.delayMs, signal);
        if (cancelled || signal.aborted) return;
        const text = `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
        if (cutAfter !== undefined && index >= cutAfter) {
          if (fault && "cutAfterChunks" in fault && fault.midEvent === true)
            controller.enqueue(encoder.encode(text.slice(0, Math.ceil(text.length / 2))));
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(text));
      }
      controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
}
