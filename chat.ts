import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { Budget } from "./security/budget.ts";
import { sleep } from "./concurrency/sleep.ts";
import { ChatError, httpError } from "./llm/chat-errors.ts";
import type { ChatMessage, ChatResult, StreamEvent, ToolCall, ToolDefinition, Usage } from "./llm/chat-types.ts";
import { extractToolCalls } from "./llm/extract/extract-tool-calls.ts";
import { chatCompletionsUrl } from "./llm/model-server-urls.ts";
import { ThinkSplitter } from "./llm/think-splitter.ts";
import { type AnyTool, runTool, type ToolContext, type ToolResult } from "./tools/define-tool.ts";

export type ChatRequest = {
  baseUrl: string;
  model: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  signal?: AbortSignal;
  onEvent?: (event: StreamEvent) => void;
  /** Retries before the first byte on connection errors, 429 and 503. Default: 2 retries from 500 ms. */
  retry?: { retries?: number; baseDelayMs?: number };
  /** Sent as `Authorization: Bearer …` for servers that want a key. */
  apiKey?: string;
};

/** A tool call whose arguments were not valid JSON keeps the raw text here; its `arguments` is `{}`. */
export type ReceivedToolCall = ToolCall & { invalidArguments?: string };

type PartialCall = { id: string; name: string; argumentsText: string; replaced: boolean };

function retryDelay(attempt: number, baseDelayMs: number, response?: Response): number {
  const header = response?.headers.get("retry-after-ms") ?? response?.headers.get("retry-after");
  const fromHeader = header ? Number(header) * (response?.headers.has("retry-after-ms") ? 1 : 1000) : Number.NaN;
  if (Number.isFinite(fromHeader) && fromHeader >= 0 && fromHeader <= 60_000) return fromHeader;
  const exponential = Math.min(baseDelayMs * 2 ** attempt, 8_000);
  return Math.round(exponential * (1 - Math.random() * 0.25));
}

function abortedError(signal: AbortSignal | undefined, partial: { content: string; reasoning: string }): ChatError {
  const reason = signal?.reason instanceof Error ? signal.reason.message : "cancelled";
  return new ChatError("aborted", `the completion was stopped (${reason}).`, {
    partialContent: partial.content,
    partialReasoning: partial.reasoning,
  });
}

async function openStream(request: ChatRequest): Promise<Response> {
  const url = chatCompletionsUrl(request.baseUrl);
  const body = JSON.stringify({
    model: request.model,
    messages: request.messages,
    stream: true,
    stream_options: { include_usage: true },
    ...(request.tools && request.tools.length > 0 ? { tools: request.tools } : {}),
  });
  const headers: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
  if (request.apiKey) headers.authorization = `Bearer ${request.apiKey}`;
  const retries = request.retry?.retries ?? 2;
  const baseDelayMs = request.retry?.baseDelayMs ?? 500;
  const context = { baseUrl: request.baseUrl, model: request.model };

  for (let attempt = 0; ; attempt += 1) {
    if (request.signal?.aborted) throw abortedError(request.signal, { content: "", reasoning: "" });
    let failure: ChatError;
    let response: Response | undefined;
    try {
      // No fetch timeout: a cold model load sends nothing for minutes. Only the caller's signal ends the wait.
      response = await fetch(url, { method: "POST", headers, body, signal: request.signal, timeout: false });
    } catch (error) {
      if (request.signal?.aborted) throw abortedError(request.signal, { content: "", reasoning: "" });
      const detail = error instanceof Error ? error.message : String(error);
      failure = new ChatError(
        "unreachable",
        `no model server answered at ${request.baseUrl} (${detail}). Start one with 'ollama serve', or point OLLAMA_BASE at a running OpenAI-compatible server.`,
        { cause: error },
      );
    }
    if (response?.ok) return response;
    if (response) failure = httpError(response.status, await response.text().catch(() => ""), context);
    // biome-ignore lint: failure is assigned on every path that reaches here
    const error = failure!;
    if (!error.retryable || attempt >= retries) throw error;
    const delayMs = retryDelay(attempt, baseDelayMs, response);
    request.onEvent?.({ type: "retry", attempt: attempt + 1, delayMs, reason: error.message });
    await sleep(delayMs, request.signal);
    if (request.signal?.aborted) throw abortedError(request.signal, { content: "", reasoning: "" });
  }
}

function parseArguments(text: string): { arguments: Record<string, unknown>; invalid?: string } {
  if (text.trim() === "") return { arguments: {} };
  try {
    let value: unknown = JSON.parse(text);
    // Some servers double-encode: the arguments string holds a JSON string of the object.
    if (typeof value === "string") value = JSON.parse(value);
    if (value && typeof value === "object" && !Array.isArray(value)) return { arguments: value as Record<string, unknown> };
  } catch {
    // fall through: reported as invalid below
  }
  return { arguments: {}, invalid: text };
}

function isCompleteJson(text: string): boolean {
  if (!text.startsWith("{") || !text.endsWith("}")) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Stitches tool-call deltas: OpenAI-style fragments by index, and Ollama's whole calls (index bug included). */
class ToolCallAccumulator {
  readonly calls: PartialCall[] = [];
  #byIndex = new Map<number, PartialCall>();

  add(delta: unknown): void {
    if (!delta || typeof delta !== "object") return;
    const raw = delta as { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } };
    const index = typeof raw.index === "number" && Number.isSafeInteger(raw.index) && raw.index >= 0 ? raw.index : undefined;
    const id = typeof raw.id === "string" && raw.id !== "" ? raw.id : undefined;
    const name = typeof raw.function?.name === "string" ? raw.function.name : "";
    const argumentsValue = raw.function?.arguments;
    const argumentsText =
      typeof argumentsValue === "string"
        ? argumentsValue
        : argumentsValue && typeof argumentsValue === "object"
          ? JSON.stringify(argumentsValue)
          : "";
    const whole = typeof argumentsValue === "object" && argumentsValue !== null;

    let call = index === undefined ? undefined : this.#byIndex.get(index);
    // A new id at a known index is a new call (Ollama reports several calls all at index 0);
    // so is a call without any index (servers before Ollama v0.4.7).
    if (!call || (id !== undefined && call.id !== "" && call.id !== id) || index === undefined) {
      call = { id: id ?? "", name: "", argumentsText: "", replaced: false };
      this.calls.push(call);
      if (index !== undefined) this.#byIndex.set(index, call);
    }
    if (id !== undefined && call.id === "") call.id = id;
    if (name !== "" && call.name === "") call.name = name;
    else if (name !== "" && call.name !== name && call.argumentsText === "") call.name = name;
    // A complete JSON object arriving after a complete one replaces it rather than concatenating into `{…}{…}`.
    if (whole || (isCompleteJson(argumentsText) && isCompleteJson(call.argumentsText))) {
      call.argumentsText = argumentsText;
    } else {
      call.argumentsText += argumentsText;
    }
  }

  finish(): ReceivedToolCall[] {
    return this.calls
      .filter((call) => call.name !== "")
      .map((call) => {
        const parsed = parseArguments(call.argumentsText);
        const id = call.id || `call_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
        return parsed.invalid === undefined
          ? { id, name: call.name, arguments: parsed.arguments }
          : { id, name: call.name, arguments: parsed.arguments, invalidArguments: parsed.invalid };
      });
  }
}

function readUsage(value: unknown): Usage | undefined {
  if (!value || typeof value !== "object") return undefined;
  const usage = value as { prompt_tokens?: unknown; completion_tokens?: unknown };
  if (typeof usage.prompt_tokens !== "number" && typeof usage.completion_tokens !== "number") return undefined;
  return {
    promptTokens: typeof usage.prompt_tokens === "number" ? usage.prompt_tokens : 0,
    completionTokens: typeof usage.completion_tokens === "number" ? usage.completion_tokens : 0,
  };
}

/**
 * One streamed completion from `POST {baseUrl}/v1/chat/completions`: content, reasoning and tool calls
 * stitched from SSE frames of any OpenAI-compatible server (Ollama old and new, OpenAI, llama.cpp, vLLM).
 */
export async function chatOnce(request: ChatRequest): Promise<ChatResult & { toolCalls: ReceivedToolCall[] }> {
  const response = await openStream(request);
  request.onEvent?.({ type: "response-start", status: response.status });
  const emit = request.onEvent ?? (() => {});
  const contentParts: string[] = [];
  const reasoningParts: string[] = [];
  const partial = () => ({ content: contentParts.join(""), reasoning: reasoningParts.join("") });
  const splitter = new ThinkSplitter();
  const toolCalls = new ToolCallAccumulator();
  let finishReason: string | undefined;
  let usage: Usage | undefined;
  let done = false;
  let failure: ChatError | undefined;
  let atEndOfStream = false;

  const addText = (text: string) => {
    const split = splitter.push(text);
    if (split.reasoning) {
      reasoningParts.push(split.reasoning);
      emit({ type: "reasoning-delta", text: split.reasoning });
    }
    if (split.text) {
      contentParts.push(split.text);
      emit({ type: "text-delta", text: split.text });
    }
  };
  const addReasoning = (text: string) => {
    reasoningParts.push(text);
    emit({ type: "reasoning-delta", text });
  };

  const onEvent = (event: EventSourceMessage) => {
    if (done || failure) return;
    if (event.data === "[DONE]") {
      done = true;
      return;
    }
    let chunk: {
      error?: unknown;
      usage?: unknown;
      choices?: { delta?: Record<string, unknown>; message?: Record<string, unknown>; finish_reason?: unknown }[] | null;
    };
    try {
      chunk = JSON.parse(event.data);
    } catch {
      if (atEndOfStream) {
        failure = new ChatError(
          "interrupted",
          "the model server closed the stream in the middle of an event; the partial reply is kept. Ask again to retry.",
          partialDetails(),
        );
        return;
      }
      const sample = event.data.length > 200 ? `${event.data.slice(0, 200)}…` : event.data;
      failure = new ChatError(
        "malformed-event",
        `the model server sent an event that is not valid JSON: ${JSON.stringify(sample)}. The server or a proxy in between is not speaking the OpenAI streaming protocol.`,
        partialDetails(),
      );
      return;
    }
    if (!chunk || typeof chunk !== "object") return;
    if (chunk.error !== undefined) {
      const message =
        typeof chunk.error === "string"
          ? chunk.error
          : ((chunk.error as { message?: string })?.message ?? JSON.stringify(chunk.error));
      failure = new ChatError("http", `the model server reported an error mid-stream: ${message}`, {
        serverMessage: message,
        ...partialDetails(),
      });
      return;
    }
    usage = readUsage(chunk.usage) ?? usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (!choice) return;
    const delta = choice.delta ?? choice.message ?? {};
    const reasoning = delta.reasoning ?? delta.reasoning_content;
    if (typeof reasoning === "string" && reasoning !== "") addReasoning(reasoning);
    if (typeof delta.content === "string" && delta.content !== "") addText(delta.content);
    if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) toolCalls.add(call);
    if (typeof choice.finish_reason === "string" && choice.finish_reason !== "") finishReason = choice.finish_reason;
  };
  const partialDetails = () => {
    const { content, reasoning } = partial();
    return { partialContent: content, partialReasoning: reasoning };
  };

  const parser = createParser({
    onEvent,
    onError: (error) => {
      failure ??= new ChatError("malformed-event", `the model server sent a malformed SSE stream: ${error.message}`, partialDetails());
    },
  });

  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  try {
    if (reader) {
      while (!done && !failure) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
      // Flush a last event that lacked its blank line; if it is cut short it counts as an interruption.
      atEndOfStream = true;
      if (!done && !failure) parser.feed(`${decoder.decode()}\n\n`);
    }
  } catch (error) {
    if (request.signal?.aborted) throw abortedError(request.signal, partial());
    const detail = error instanceof Error ? error.message : String(error);
    throw new ChatError(
      "interrupted",
      `the connection to the model server broke mid-stream (${detail}); the partial reply is kept.`,
      { ...partialDetails(), cause: error },
    );
  } finally {
    if (done || failure) await reader?.cancel().catch(() => {});
  }
  if (failure) throw failure;
  const tail = splitter.flush();
  if (tail.reasoning) addReasoning(tail.reasoning);
  if (tail.text) {
    contentParts.push(tail.text);
    emit({ type: "text-delta", text: tail.text });
  }
  if (!done && finishReason === undefined) {
    if (request.signal?.aborted) throw abortedError(request.signal, partial());
    throw new ChatError(
      "interrupted",
      "the model server ended the stream without a finish reason or [DONE] — the model likely failed mid-reply (Ollama drops the error text; its log has it). The partial reply is kept; ask again to retry.",
      partialDetails(),
    );
  }
  const calls = toolCalls.finish();
  for (const call of calls) emit({ type: "tool-call", call });
  const { content, reasoning } = partial();
  const result = {
    content,
    reasoning,
    finishReason: finishReason ?? (calls.length > 0 ? "tool_calls" : "stop"),
    toolCalls: calls,
    ...(usage ? { usage } : {}),
  };
  emit({ type: "finish", finishReason: result.finishReason, ...(usage ? { usage } : {}) });
  return result;
}

/** Events of the tool loop: the stream's own events plus what happens between completions. */
export type LoopEvent =
  | StreamEvent
  | { type: "round-start"; round: number }
  | { type: "tool-result"; call: ToolCall; result: ToolResult; durationMs: number }
  | { type: "loop-stop"; reason: "max-rounds" | "repeated-call"; message: string };

export type LoopResult = {
  /** The assistant and tool messages this run added, in order. */
  messages: ChatMessage[];
  content: string;
  reasoning: string;
  stopReason: "done" | "max-rounds" | "repeated-call";
  usage: Usage;
  rounds: number;
};

const REPEAT_LIMIT = 3;

/**
 * The tool loop: complete, run the declared and embedded tool calls of that turn in order, append their
 * results as `role: "tool"` messages, and repeat until the model stops calling tools or a bound is hit.
 */
export async function runWithTools(request: {
  baseUrl: string;
  model: string;
  messages: ChatMessage[];
  tools: ReadonlyMap<string, AnyTool>;
  toolContext: Omit<ToolContext, "signal">;
  signal?: AbortSignal;
  onEvent?: (event: LoopEvent) => void;
  maxRounds?: number;
  budget?: Budget;
  approve?: (call: ToolCall) => Promise<boolean>;
  apiKey?: string;
  retry?: ChatRequest["retry"];
}): Promise<LoopResult> {
  const maxRounds = request.maxRounds ?? 8;
  const emit = request.onEvent ?? (() => {});
  const conversation = [...request.messages];
  const added: ChatMessage[] = [];
  const usage: Usage = { promptTokens: 0, completionTokens: 0 };
  const definitions = [...request.tools.values()].map((tool) => tool.definition);
  const toolNames = [...request.tools.keys()];
  const context: ToolContext = { ...request.toolContext, signal: request.signal ?? new AbortController().signal };
  let previousSignature = "";
  let repeats = 0;
  let content = "";
  let reasoning = "";

  for (let round = 1; ; round += 1) {
    request.budget?.beforeModelCall();
    emit({ type: "round-start", round });
    const completion = await chatOnce({
      baseUrl: request.baseUrl,
      model: request.model,
      messages: conversation,
      tools: definitions,
      signal: request.signal,
      onEvent: emit,
      apiKey: request.apiKey,
      retry: request.retry,
    });
    const roundUsage = completion.usage ?? estimateUsage(conversation, completion.content + completion.reasoning);
    usage.promptTokens += roundUsage.promptTokens;
    usage.completionTokens += roundUsage.completionTokens;
    request.budget?.recordUsage(roundUsage);

    const embedded = extractToolCalls(completion.content, { toolNames });
    const calls: ReceivedToolCall[] = [
      ...completion.toolCalls,
      ...embedded.toolCalls.map((call, position) => ({
        id: `call_embedded_${round}_${position}`,
        name: call.name,
        arguments: call.arguments,
      })),
    ];
    for (const call of calls.slice(completion.toolCalls.length)) emit({ type: "tool-call", call });
    content = embedded.content;
    reasoning = [completion.reasoning, embedded.reasoning].filter(Boolean).join("\n");
    const assistant: ChatMessage = {
      role: "assistant",
      content: embedded.content,
      ...(calls.length > 0
        ? {
            tool_calls: calls.map((call) => ({
              id: call.id,
              type: "function" as const,
              // Echo valid JSON only: Ollama rejects history whose arguments do not parse.
              function: { name: call.name, arguments: JSON.stringify(call.arguments) },
            })),
          }
        : {}),
    };
    conversation.push(assistant);
    added.push(assistant);
    if (calls.length === 0) {
      return { messages: added, content, reasoning, stopReason: "done", usage, rounds: round };
    }

    for (const call of calls) {
      const started = performance.now();
      const result = await runOneCall(call, request, context);
      emit({ type: "tool-result", call, result, durationMs: Math.round(performance.now() - started) });
      const message: ChatMessage = { role: "tool", tool_call_id: call.id, name: call.name, content: result.output };
      conversation.push(message);
      added.push(message);
    }

    const signature = JSON.stringify(calls.map((call) => [call.name, call.arguments]));
    repeats = signature === previousSignature ? repeats + 1 : 1;
    previousSignature = signature;
    if (repeats >= REPEAT_LIMIT) {
      const message = `stopped: the model made the same tool call ${REPEAT_LIMIT} times in a row (${calls[0]?.name}). Rephrase the request or check the tool's output.`;
      emit({ type: "loop-stop", reason: "repeated-call", message });
      return { messages: added, content, reasoning, stopReason: "repeated-call", usage, rounds: round };
    }
    if (round >= maxRounds) {
      const message = `stopped after ${maxRounds} tool rounds without a final answer. Ask again to let the model continue.`;
      emit({ type: "loop-stop", reason: "max-rounds", message });
      return { messages: added, content, reasoning, stopReason: "max-rounds", usage, rounds: round };
    }
  }
}

async function runOneCall(
  call: ReceivedToolCall,
  request: { tools: ReadonlyMap<string, AnyTool>; approve?: (call: ToolCall) => Promise<boolean> },
  context: ToolContext,
): Promise<ToolResult> {
  if (call.invalidArguments !== undefined) {
    const sample = call.invalidArguments.length > 200 ? `${call.invalidArguments.slice(0, 200)}…` : call.invalidArguments;
    return {
      ok: false,
      output: `Error: the arguments of your ${call.name} call are not valid JSON (${JSON.stringify(sample)}). Call it again with a JSON object.`,
    };
  }
  if (request.tools.has(call.name) && request.approve && !(await request.approve(call))) {
    return { ok: false, output: `Error: the user denied the ${call.name} call. Do not retry it; ask the user or try another way.` };
  }
  return runTool(request.tools, call, context);
}

/** A rough count for servers that send no usage: about four characters a token. */
function estimateUsage(messages: ChatMessage[], reply: string): Usage {
  const promptCharacters = messages.reduce((sum, message) => sum + (message.content?.length ?? 0), 0);
  return { promptTokens: Math.ceil(promptCharacters / 4), completionTokens: Math.ceil(reply.length / 4) };
}
