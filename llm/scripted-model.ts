import { ChatError } from "./chat-errors.ts";
import type { StreamEvent, Usage } from "./chat-types.ts";
import type { Completion, CompletionRequest, LanguageModel } from "./language-model.ts";
import { abortedError } from "./open-stream.ts";
import { fallbackWindow, type ModelWindow } from "./model-window.ts";
import { ToolCallAccumulator } from "./read-chunks.ts";
import { StreamLimit } from "./stream-limit.ts";
import { ThinkSplitter } from "./think-splitter.ts";

/** One scripted completion: text (pieces stream as deltas; `<think>` is split out as on the wire), reasoning, calls, usage. */
export type ScriptedReply = {
  text?: string | string[];
  reasoning?: string;
  /** Calls the model declares; `arguments` as a string is taken as raw JSON text, as a server would send it. */
  toolCalls?: { name: string; arguments: Record<string, unknown> | string; id?: string }[];
  usage?: Usage;
  finishReason?: string;
  /** Fails the completion after what streamed before it (e.g. `new ChatError("interrupted", …)`). */
  error?: ChatError;
};

/** The n-th request's reply (0-based), or the request itself decides: a script that reads what it was sent. */
export type Script = ScriptedReply[] | ((request: CompletionRequest, index: number) => ScriptedReply);

export type ScriptedModel = LanguageModel & {
  /** Every request in order, its messages copied as they were when sent. */
  readonly requests: CompletionRequest[];
};

/**
 * The port in memory (as the AI SDK's `MockLanguageModelV3`): replies from a script, with the events and the
 * result `httpModel` yields for the same reply (deltas, calls, finish, usage, cuts at `stopAt`, abort).
 * The last reply of a list repeats. Its window is `options.window`, else `contextTokens` as the config gives it, else the default.
 */
export function scriptedModel(
  script: Script,
  options: { modelId?: string; models?: string[]; window?: ModelWindow; contextTokens?: number } = {},
): ScriptedModel {
  const requests: CompletionRequest[] = [];
  const modelId = options.modelId ?? "scripted";
  const model: ScriptedModel = {
    modelId,
    server: "http://scripted.invalid",
    requests,
    async stream(request) {
      const index = requests.length;
      requests.push({ ...request, messages: structuredClone(request.messages) });
      const reply = typeof script === "function" ? script(request, index) : script[Math.min(index, script.length - 1)];
      if (!reply) throw new ChatError("http", "the scripted model has no reply: give scriptedModel at least one.");
      return play(reply, request);
    },
    async listModels() {
      return options.models ?? [modelId];
    },
    async probe() {
      return { server: model.server, reachable: true, models: options.models ?? [modelId] };
    },
    async window() {
      return options.window ?? fallbackWindow(options.contextTokens);
    },
    withModelId(id) {
      return { ...scriptedModel(script, { ...options, modelId: id }), stream: model.stream, requests };
    },
  };
  return model;
}

function play(reply: ScriptedReply, request: CompletionRequest): Completion {
  const emit = request.onEvent ?? ((_event: StreamEvent) => {});
  const signal = request.signal;
  const limit = new StreamLimit(request.stopAt?.chars ?? Number.POSITIVE_INFINITY, request.stopAt?.tokens ?? Number.POSITIVE_INFINITY);
  const content: string[] = [];
  const reasoning: string[] = [];
  const checkAbort = () => {
    if (signal?.aborted) throw abortedError(signal, { content: content.join(""), reasoning: reasoning.join("") });
  };
  checkAbort();
  emit({ type: "response-start", status: 200 });
  const say = (split: { text: string; reasoning: string }) => {
    if (split.reasoning) {
      reasoning.push(split.reasoning);
      emit({ type: "reasoning-delta", text: split.reasoning });
    }
    if (split.text) {
      content.push(split.text);
      emit({ type: "text-delta", text: split.text });
    }
  };
  if (reply.reasoning) say({ text: "", reasoning: reply.reasoning.slice(0, limit.take(reply.reasoning.length)) });
  const splitter = new ThinkSplitter();
  for (const piece of typeof reply.text === "string" ? [reply.text] : (reply.text ?? [])) {
    checkAbort();
    const taken = piece.slice(0, limit.take(piece.length));
    if (taken !== "") say(splitter.push(taken));
  }
  say(splitter.flush());
  checkAbort();
  if (reply.error) {
    throw new ChatError(reply.error.kind, reply.error.message, { partialContent: content.join(""), partialReasoning: reasoning.join("") });
  }
  const accumulator = new ToolCallAccumulator();
  for (const [index, call] of (reply.toolCalls ?? []).entries()) {
    const raw = typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments);
    if (limit.take(raw.length) < raw.length || limit.reached) break;
    accumulator.add({ index, id: call.id ?? `call_${index}`, function: { name: call.name, arguments: raw } });
  }
  const limitReached = limit.reached;
  const toolCalls = limitReached ? [] : accumulator.finish();
  for (const call of toolCalls) emit({ type: "tool-call", call });
  const finishReason = limitReached ? "length" : (reply.finishReason ?? (toolCalls.length > 0 ? "tool_calls" : "stop"));
  emit({ type: "finish", finishReason, ...(reply.usage ? { usage: reply.usage } : {}) });
  return {
    content: content.join(""),
    reasoning: reasoning.join(""),
    finishReason,
    toolCalls,
    ...(reply.usage ? { usage: reply.usage } : {}),
    ...(limitReached ? { limitReached } : {}),
  };
}
