import { createParser, type EventSourceMessage } from "eventsource-parser";
import { serverEndpoint } from "./config/server-url.ts";
import { Budget, BudgetExceededError, isTokenCount } from "./security/budget.ts";
import type { ToolTimeBudget } from "./security/tool-time-budget.ts";
import { sleep } from "./concurrency/sleep.ts";
import { ChatError, connectionDetail, httpError } from "./llm/chat-errors.ts";
import type { ChatMessage, ChatResult, StreamEvent, ToolCall, ToolDefinition, Usage } from "./llm/chat-types.ts";
import { extractToolCalls } from "./llm/extract/extract-tool-calls.ts";
import { chatCompletionsUrl } from "./llm/model-server-urls.ts";
import { ThinkSplitter } from "./llm/think-splitter.ts";
import { type AnyTool, runTool, type ToolContext, type ToolResult, toolSeconds } from "./tools/define-tool.ts";

export type ChatRequest = {
  baseUrl: string;
  model: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  signal?: AbortSignal;
  onEvent?: (event: StreamEvent) => void;
  /** Retries before the first byte on connection errors, 429 and 503. Default: 2 retries from 500 ms. */
  retry?: { retries?: number; baseDelayMs?: number };
  /** Sent as `Authorization: Bearer …` for servers that want a key (credentials in the URL take precedence). */
  apiKey?: string;
  /** The whole Authorization header value (e.g. `Basic …`); wins over `apiKey`. */
  authorization?: string | undefined;
  /** Where the model name came from (e.g. "OLLAMA_MODEL"), named when the server does not have it. */
  modelSource?: string;
  /**
   * Where the stream is cut: after `chars` characters of text, reasoning and tool-call arguments, or once the
   * characters received (about four a token) would spend more than `tokens`. The result says which.
   */
  stopAt?: { chars?: number; tokens?: number };
};

/** Why a stream was cut before the model finished: the reply's size limit or the session's token budget. */
export type ReplyLimitStop = { reason: "reply-chars" | "budget"; message: string };

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
  // Credentials in the URL go as a header; the URL that is fetched and shown carries none.
  const endpoint = serverEndpoint(request.baseUrl);
  const url = chatCompletionsUrl(endpoint.url);
  const body = JSON.stringify({
    model: request.model,
    messages: request.messages,
    stream: true,
    stream_options: { include_usage: true },
    ...(request.tools && request.tools.length > 0 ? { tools: request.tools } : {}),
  });
  const headers: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
  const authorization = endpoint.authorization ?? request.authorization ?? (request.apiKey ? `Bearer ${request.apiKey}` : undefined);
  if (authorization) headers.authorization = authorization;
  const retries = request.retry?.retries ?? 2;
  const baseDelayMs = request.retry?.baseDelayMs ?? 500;
  const context = { baseUrl: endpoint.url, model: request.model, ...(request.modelSource ? { modelSource: request.modelSource } : {}) };

  for (let attempt = 0; ; attempt += 1) {
    if (request.signal?.aborted) throw abortedError(request.signal, { content: "", reasoning: "" });
    let failure: ChatError;
    let response: Response | undefined;
    try {
      // No fetch timeout: a cold model load sends nothing for minutes. Only the caller's signal ends the wait.
      response = await fetch(url, { method: "POST", headers, body, signal: request.signal, timeout: false });
    } catch (error) {
      if (request.signal?.aborted) throw abortedError(request.signal, { content: "", reasoning: "" });
      failure = new ChatError(
        "unreachable",
        `no model server answered at ${endpoint.url} (${connectionDetail(error)}). Start one with 'ollama serve', or point OLLAMA_BASE at a running OpenAI-compatible server.`,
        { cause: error },
      );
    }
    if (response?.ok) return response;
    if (response) failure = httpError(response.status, await response.text().catch(() => ""), context);
    // biome-ignore lint/style/noNonNullAssertion: failure is assigned on every path that reaches here (the catch, or a response that is not ok); TypeScript cannot follow it.
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

/** More tokens than any model's context holds: a count above it is not believed. */
const MOST_CREDIBLE_TOKENS = 100_000_000;

/**
 * The server's token counts, when they are believable. A negative, fractional, non-finite or absurd count
 * (a hostile or broken server) gives undefined, so the caller estimates from the text instead: such a
 * count must not lower the session's spending or switch the budget off.
 */
function readUsage(value: unknown): Usage | undefined {
  if (!value || typeof value !== "object") return undefined;
  const usage = value as { prompt_tokens?: unknown; completion_tokens?: unknown };
  if (usage.prompt_tokens === undefined && usage.completion_tokens === undefined) return undefined;
  const credible = (count: unknown) =>
    count === undefined || count === null || (isTokenCount(count) && Number.isInteger(count) && count <= MOST_CREDIBLE_TOKENS);
  if (!credible(usage.prompt_tokens) || !credible(usage.completion_tokens)) return undefined;
  return {
    promptTokens: typeof usage.prompt_tokens === "number" ? usage.prompt_tokens : 0,
    completionTokens: typeof usage.completion_tokens === "number" ? usage.completion_tokens : 0,
  };
}

/**
 * One streamed completion from `POST {baseUrl}/v1/chat/completions`: content, reasoning and tool calls
 * stitched from SSE frames of any OpenAI-compatible server (Ollama old and new, OpenAI, llama.cpp, vLLM).
 */
export async function chatOnce(
  request: ChatRequest,
): Promise<ChatResult & { toolCalls: ReceivedToolCall[]; limitReached?: ReplyLimitStop }> {
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
  const maxChars = request.stopAt?.chars ?? Number.POSITIVE_INFINITY;
  const maxTokens = request.stopAt?.tokens ?? Number.POSITIVE_INFINITY;
  let received = 0;
  let limitReached: ReplyLimitStop | undefined;
  /** How much of `length` more characters may be taken; cuts the stream once a limit is reached. */
  const take = (length: number): number => {
    if (limitReached) return 0;
    const allowed = Math.max(0, Math.min(length, maxChars - received));
    received += allowed;
    if (allowed < length) {
      limitReached = {
        reason: "reply-chars",
        message: `the reply was stopped at ${maxChars} characters (limits.replyChars in org.config.json); what came before is kept.`,
      };
    } else if (Math.ceil(received / 4) > maxTokens) {
      limitReached = {
        reason: "budget",
        message: `the reply was stopped mid-stream: it would spend more than the ${maxTokens} tokens left in the session's budget (limits.sessionTokens in org.config.json). Start a new session or raise the limit.`,
      };
    }
    if (limitReached) done = true;
    return allowed;
  };

  const addText = (whole: string) => {
    const text = whole.slice(0, take(whole.length));
    if (text === "") return;
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
  const addReasoning = (whole: string) => {
    const text = whole.slice(0, take(whole.length));
    if (text === "") return;
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
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) {
        const fragment = (call as { function?: { arguments?: unknown } } | null)?.function?.arguments;
        const length = typeof fragment === "string" ? fragment.length : JSON.stringify(fragment ?? "").length;
        if (take(length) < length || limitReached) break;
        toolCalls.add(call);
      }
    }
    if (limitReached) return;
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
    throw new ChatError(
      "interrupted",
      `the connection to the model server broke mid-stream (${connectionDetail(error)}); the partial reply is kept.`,
      { ...partialDetails(), cause: error },
    );
  } finally {
    if (done || failure) await reader?.cancel().catch(() => {});
  }
  if (failure) throw failure;
  const tail = splitter.flush();
  if (tail.reasoning) {
    reasoningParts.push(tail.reasoning);
    emit({ type: "reasoning-delta", text: tail.reasoning });
  }
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
  // A cut stream's calls may be cut too: none of them runs.
  const calls = limitReached ? [] : toolCalls.finish();
  for (const call of calls) emit({ type: "tool-call", call });
  const { content, reasoning } = partial();
  const result = {
    content,
    reasoning,
    finishReason: limitReached ? "length" : (finishReason ?? (calls.length > 0 ? "tool_calls" : "stop")),
    toolCalls: calls,
    ...(usage ? { usage } : {}),
    ...(limitReached ? { limitReached } : {}),
  };
  emit({ type: "finish", finishReason: result.finishReason, ...(usage ? { usage } : {}) });
  return result;
}

/** Events of the tool loop: the stream's own events plus what happens between completions. */
export type LoopEvent =
  | StreamEvent
  | { type: "round-start"; round: number }
  | { type: "tool-result"; call: ToolCall; result: ToolResult; durationMs: number }
  | { type: "loop-stop"; reason: "max-rounds" | "repeated-call" | "reply-chars"; message: string }
  /** Calls beyond the reply's call limit were not run (and beyond the first, not shown). */
  | { type: "calls-refused"; count: number; message: string };

export type LoopResult = {
  /** The assistant and tool messages this run added, in order. */
  messages: ChatMessage[];
  content: string;
  reasoning: string;
  stopReason: "done" | "max-rounds" | "repeated-call" | "reply-chars";
  usage: Usage;
  rounds: number;
};

const REPEAT_LIMIT = 3;
/** Tool calls one reply may make unless the caller says otherwise (limits.toolCallsPerReply). */
export const DEFAULT_TOOL_CALLS_PER_REPLY = 32;
/** Characters one reply may stream unless the caller says otherwise (limits.replyChars). */
export const DEFAULT_REPLY_CHARS = 200_000;

/** A call's fate: run it (with whose policy let it, for the audit log), or not, with what the model is told. */
export type CallDecision = { run: true; policyFrom?: string } | { run: false; reason?: string };

/** Whether a tool call may run; the room asks its policy and the user. `false` means the user said no. */
export type ApproveCall = (call: ToolCall) => Promise<boolean | CallDecision>;

type LoopRequest = {
  baseUrl: string;
  model: string;
  messages: ChatMessage[];
  tools: ReadonlyMap<string, AnyTool>;
  toolContext: Omit<ToolContext, "signal">;
  signal?: AbortSignal;
  onEvent?: (event: LoopEvent) => void;
  /** Tool rounds this reply may take; checked before each LLM call. Default 8. */
  maxRounds?: number;
  /** Tool calls this reply may make; calls beyond it are not run and the model is told. Default 32. */
  maxToolCalls?: number;
  /** Characters (text, reasoning and tool-call arguments, over all rounds) this reply may stream. Default 200 000. */
  maxReplyChars?: number;
  /** The session's token budget, checked before each LLM call. */
  budget?: Budget;
  /** Seconds of tool time (each call's timeout) the user's turn has left; shared by the turn's replies. */
  toolTime?: ToolTimeBudget;
  approve?: ApproveCall;
  apiKey?: string;
  authorization?: string | undefined;
  modelSource?: string;
  retry?: ChatRequest["retry"];
};

/**
 * The tool loop: complete, run the declared and embedded tool calls of that turn in order, append their
 * results as `role: "tool"` messages, and repeat until the model stops calling tools or a bound is hit.
 * Every bound is checked before the LLM call it would allow (invariant 5).
 */
export async function runWithTools(request: LoopRequest): Promise<LoopResult> {
  const maxRounds = request.maxRounds ?? 8;
  const maxToolCalls = request.maxToolCalls ?? DEFAULT_TOOL_CALLS_PER_REPLY;
  const emit = request.onEvent ?? (() => {});
  const conversation = [...request.messages];
  const added: ChatMessage[] = [];
  const usage: Usage = { promptTokens: 0, completionTokens: 0 };
  const context: ToolContext = { ...request.toolContext, signal: request.signal ?? new AbortController().signal };
  const budget = (request.budget ?? new Budget()).startTurn({ maxToolRounds: maxRounds });
  let callsMade = 0;
  let previousSignature = "";
  let repeats = 0;
  let content = "";
  let reasoning = "";
  const maxReplyChars = request.maxReplyChars ?? DEFAULT_REPLY_CHARS;
  let replyChars = 0;

  for (let round = 1; ; round += 1) {
    try {
      budget.beforeModelCall();
    } catch (error) {
      if (!(error instanceof BudgetExceededError && error.budget === "tool-rounds")) throw error;
      emit({ type: "loop-stop", reason: "max-rounds", message: error.message });
      return { messages: added, content, reasoning, stopReason: "max-rounds", usage, rounds: round - 1 };
    }
    emit({ type: "round-start", round });
    // Read each round: a tool may add tools to the map (find_tool), callable from the next round on.
    const definitions = [...request.tools.values()].map((tool) => tool.definition);
    const toolNames = [...request.tools.keys()];
    // A reply may hold more calls than it may run: those past the first refused one are not even shown.
    const callsAllowed = Math.max(0, maxToolCalls - callsMade);
    let callsSeen = 0;
    const emitCall = (event: LoopEvent) => {
      if (event.type === "tool-call" && ++callsSeen > callsAllowed + 1) return;
      emit(event);
    };
    const completion = await chatOnce({
      baseUrl: request.baseUrl,
      model: request.model,
      messages: conversation,
      tools: definitions,
      signal: request.signal,
      onEvent: emitCall,
      apiKey: request.apiKey,
      authorization: request.authorization,
      ...(request.modelSource ? { modelSource: request.modelSource } : {}),
      retry: request.retry,
      stopAt: {
        chars: Math.max(0, maxReplyChars - replyChars),
        tokens: budget.session.maxSessionTokens - budget.session.tokensUsed,
      },
    });
    replyChars +=
      completion.content.length + completion.reasoning.length + completion.toolCalls.reduce((sum, call) => sum + (JSON.stringify(call.arguments)?.length ?? 0), 0);
    const roundUsage = completion.usage ?? estimateUsage(conversation, completion.content + completion.reasoning);
    usage.promptTokens += roundUsage.promptTokens;
    usage.completionTokens += roundUsage.completionTokens;
    budget.session.recordUsage(roundUsage);
    // The budget crossed mid-stream ends the reply as the check before a call would: nothing more runs.
    if (completion.limitReached?.reason === "budget") throw new BudgetExceededError("session-tokens", completion.limitReached.message);
    if (completion.limitReached) {
      // A cut reply runs nothing: not its calls, not calls embedded in its text.
      content = completion.content;
      reasoning = completion.reasoning;
      const assistant: ChatMessage = { role: "assistant", content };
      conversation.push(assistant);
      added.push(assistant);
      emit({ type: "loop-stop", reason: "reply-chars", message: completion.limitReached.message });
      return { messages: added, content, reasoning, stopReason: "reply-chars", usage, rounds: round };
    }

    const embedded = extractToolCalls(completion.content, { toolNames });
    const made: ReceivedToolCall[] = [
      ...completion.toolCalls,
      ...embedded.toolCalls.map((call, position) => ({
        id: `call_embedded_${round}_${position}`,
        name: call.name,
        arguments: call.arguments,
      })),
    ];
    for (const call of made.slice(completion.toolCalls.length)) emitCall({ type: "tool-call", call });
    callsMade += made.length;
    const runnable = made.slice(0, callsAllowed);
    const refused = made.slice(callsAllowed);
    // The first refused call stays in the history with a result that tells the model; the rest are dropped.
    const calls = refused.length > 0 ? [...runnable, refused[0] as ReceivedToolCall] : runnable;
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

    let endsReply = false;
    for (const call of calls) {
      const { result, durationMs } =
        call === refused[0]
          ? {
              result: {
                ok: false,
                output: `Error: not run: a reply may make at most ${maxToolCalls} tool calls (limits.toolCallsPerReply) and this one made ${callsMade}; this call and ${refused.length - 1} more were not run. Answer with what you have, or ask the user to go on.`,
              },
              durationMs: 0,
            }
          : await runOneCall(call, request, context);
      emit({ type: "tool-result", call, result, durationMs });
      if (result.endsReply) endsReply = true;
      const message: ChatMessage = { role: "tool", tool_call_id: call.id, name: call.name, content: result.output };
      conversation.push(message);
      added.push(message);
    }
    if (refused.length > 0) {
      emit({
        type: "calls-refused",
        count: refused.length,
        message: `${refused.length} of ${made.length} tool calls in one reply were not run: a reply may make at most ${maxToolCalls} (limits.toolCallsPerReply in org.config.json).`,
      });
    }
    budget.recordToolRound();
    if (endsReply) return { messages: added, content, reasoning, stopReason: "done", usage, rounds: round };

    const signature = JSON.stringify(runnable.map((call) => [call.name, call.arguments]));
    repeats = signature === previousSignature ? repeats + 1 : 1;
    previousSignature = signature;
    if (repeats >= REPEAT_LIMIT) {
      const message = `stopped: the model made the same tool call ${REPEAT_LIMIT} times in a row (${calls[0]?.name}). Rephrase the request or check the tool's output.`;
      emit({ type: "loop-stop", reason: "repeated-call", message });
      return { messages: added, content, reasoning, stopReason: "repeated-call", usage, rounds: round };
    }
  }
}

/** Runs one call once the user allowed it; `durationMs` counts the run only, not the wait for approval. */
async function runOneCall(
  call: ReceivedToolCall,
  request: { tools: ReadonlyMap<string, AnyTool>; approve?: ApproveCall; toolTime?: ToolTimeBudget },
  context: ToolContext,
): Promise<{ result: ToolResult; durationMs: number }> {
  const notRun = (output: string) => ({ result: { ok: false, output }, durationMs: 0 });
  if (call.invalidArguments !== undefined) {
    const sample = call.invalidArguments.length > 200 ? `${call.invalidArguments.slice(0, 200)}…` : call.invalidArguments;
    return notRun(`Error: the arguments of your ${call.name} call are not valid JSON (${JSON.stringify(sample)}). Call it again with a JSON object.`);
  }
  const tool = request.tools.get(call.name);
  // A call's timeout is what it may cost: refused before anyone is asked when the turn cannot afford it.
  const seconds = tool ? toolSeconds(tool, call.arguments) : 0;
  const refusal = request.toolTime?.refusal(seconds);
  if (refusal) return notRun(`Error: not run: ${refusal}`);
  let decision: CallDecision = { run: true };
  if (tool && request.approve) {
    // The user is asked about the arguments as execute will get them: unknown keys gone, defaults filled in.
    // Arguments that do not validate are refused by runTool without asking.
    const parsed = tool.parameters.safeParse(call.arguments ?? {});
    if (parsed.success) {
      const answer = await request.approve({ ...call, arguments: parsed.data });
      decision = typeof answer === "boolean" ? (answer ? { run: true } : { run: false }) : answer;
    }
  }
  if (!decision.run) {
    return notRun(decision.reason ?? `Error: the user denied the ${call.name} call. Do not retry it; ask the user or try another way.`);
  }
  const charged = request.toolTime?.charge(seconds);
  if (charged) return notRun(`Error: not run: ${charged}`);
  const started = performance.now();
  const result = await runTool(request.tools, call, decision.policyFrom === undefined ? context : { ...context, policyFrom: decision.policyFrom });
  return { result, durationMs: Math.round(performance.now() - started) };
}

/** A rough count for servers that send no (or no believable) usage: about four characters a token. */
function estimateUsage(messages: ChatMessage[], reply: string): Usage {
  const promptCharacters = messages.reduce((sum, message) => sum + (message.content?.length ?? 0), 0);
  return { promptTokens: Math.ceil(promptCharacters / 4), completionTokens: Math.ceil(reply.length / 4) };
}
