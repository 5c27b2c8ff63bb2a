import { StringDecoder } from "node:string_decoder";
import { ChatError, connectionDetail } from "./chat-errors.ts";
import type { StreamEvent, Usage } from "./chat-types.ts";
import type { Completion, CompletionRequest } from "./language-model.ts";
import { abortedError, openStream } from "./open-stream.ts";
import { ChunkTemplate } from "./chunk-template.ts";
import { SseEvents } from "./sse-events.ts";
import { chunkErrorMessage, fragmentLength, type ReadChunk, readChunk, readUsage, ToolCallAccumulator, type ToolCallDelta } from "./read-chunks.ts";
import { StreamLimit } from "./stream-limit.ts";
import { TextParts } from "./text-parts.ts";
import { ThinkSplitter } from "./think-splitter.ts";

export type ChatRequest = CompletionRequest & {
  baseUrl: string;
  model: string;
  /** Retries before the first byte on connection errors, 429 and 503. Default: 2 retries from 500 ms. */
  retry?: { retries?: number; baseDelayMs?: number };
  /** Sent as `Authorization: Bearer …` for servers that want a key (credentials in the URL take precedence). */
  apiKey?: string;
  /** The whole Authorization header value (e.g. `Basic …`); wins over `apiKey`. */
  authorization?: string | undefined;
  /** Where the model name came from (e.g. "OLLAMA_MODEL"), named when the server does not have it. */
  modelSource?: string;
  /** Sent as they are: `temperature: 0` and a `seed` make a server that honours them answer the same way each time. */
  sampling?: Sampling;
};

/** The request fields that make a completion repeatable where the server allows it (OpenAI, Ollama, vLLM, llama.cpp). */
export type Sampling = { temperature?: number; seed?: number };

export type { ReplyLimitStop } from "./stream-limit.ts";

export type { ReceivedToolCall } from "./read-chunks.ts";

type Emit = (event: StreamEvent) => void;

/** Builds one completion from parsed chunks: text and reasoning (split out of `<think>`), tool calls, usage. */
class CompletionAssembly {
  readonly contentParts = new TextParts();
  readonly reasoningParts = new TextParts();
  readonly toolCalls = new ToolCallAccumulator();
  readonly splitter = new ThinkSplitter();
  finishReason: string | undefined;
  usage: Usage | undefined;
  /** Set when the server reported an error in the stream. */
  failure: ChatError | undefined;

  constructor(
    private readonly emit: Emit | undefined,
    readonly limit: StreamLimit,
  ) {}

  partial() {
    return { partialContent: this.contentParts.text(), partialReasoning: this.reasoningParts.text() };
  }

  /** Joins the text of the read just done (TextParts). */
  settle(): void {
    this.contentParts.settle();
    this.reasoningParts.settle();
  }

  #emitSplit(split: { text: string; reasoning: string }) {
    if (split.reasoning) this.#emitReasoning(split.reasoning);
    if (split.text) this.#emitText(split.text);
  }

  // Without a listener no event object is built: streaming pays these on every chunk.
  #emitText(text: string) {
    this.contentParts.push(text);
    if (this.emit) this.emit({ type: "text-delta", text });
  }

  #emitReasoning(text: string) {
    this.reasoningParts.push(text);
    if (this.emit) this.emit({ type: "reasoning-delta", text });
  }

  #addText(whole: string, mayHoldAngle = true) {
    const text = whole.slice(0, this.limit.take(whole.length));
    if (text === "") return;
    if (mayHoldAngle ? this.splitter.passesThrough(text) : this.splitter.passesThroughPlain()) this.#emitText(text);
    else this.#emitSplit(this.splitter.push(text));
  }

  #addReasoning(whole: string) {
    const text = whole.slice(0, this.limit.take(whole.length));
    if (text !== "") this.#emitReasoning(text);
  }

  /**
   * Takes the string of an event that fits the stream's template (chunk-template.ts): the text of a chunk that carries
   * nothing else, or the arguments of its one tool call. `mayHoldAngle` false when its reader saw no "<".
   */
  addTemplated(template: ChunkTemplate, text: string, mayHoldAngle = true): void {
    const field = template.field;
    if (field === "content") this.#addText(text, mayHoldAngle);
    else if (field === "arguments") this.#addCall(template.call(text));
    else if (field !== undefined) this.#addReasoning(text);
  }

  /** Stitches one tool-call entry, counted against the reply's limit first; false when the limit stops it and the rest. */
  #addCall(call: ToolCallDelta | undefined): boolean {
    const length = fragmentLength(call);
    if (this.limit.take(length) < length || this.limit.reached) return false;
    if (call) this.toolCalls.add(call);
    return true;
  }

  /** Takes one decoded chunk (already JSON); a chunk that is not an object says nothing. Returns how it was read. */
  add(value: unknown): ReadChunk | undefined {
    const chunk = readChunk(value);
    if (!chunk) return undefined;
    if (chunk.error !== undefined) {
      const message = chunkErrorMessage(chunk.error);
      this.failure = new ChatError("http", `the model server reported an error mid-stream: ${message}`, {
        serverMessage: message,
        ...this.partial(),
      });
      return chunk;
    }
    this.usage = readUsage(chunk.usage) ?? this.usage;
    if (!chunk.choice) return chunk;
    const { delta, toolCalls, finishReason } = chunk.choice;
    const reasoning = delta.reasoning ?? delta.reasoning_content;
    if (reasoning) this.#addReasoning(reasoning);
    if (delta.content) this.#addText(delta.content);
    for (const call of toolCalls) if (!this.#addCall(call)) break;
    if (this.limit.reached) return chunk;
    if (finishReason) this.finishReason = finishReason;
    return chunk;
  }

  /** Writes out what the think splitter still holds. */
  flush(): void {
    this.#emitSplit(this.splitter.flush());
  }
}

/**
 * One streamed completion from `POST {baseUrl}/v1/chat/completions`: content, reasoning and tool calls
 * stitched from SSE frames of any OpenAI-compatible server (Ollama old and new, OpenAI, llama.cpp, vLLM).
 */
export async function chatOnce(request: ChatRequest): Promise<Completion> {
  const response = await openStream(request);
  request.onEvent?.({ type: "response-start", status: response.status });
  const emit = request.onEvent ?? (() => {});
  const limit = new StreamLimit(request.stopAt?.chars ?? Number.POSITIVE_INFINITY, request.stopAt?.tokens ?? Number.POSITIVE_INFINITY);
  const assembly = new CompletionAssembly(request.onEvent, limit);
  const done = await readEvents(response, assembly, request.signal);
  assembly.flush();
  if (!done && assembly.finishReason === undefined) {
    if (request.signal?.aborted) throw abortedError(request.signal, partialOf(assembly));
    throw new ChatError(
      "interrupted",
      "the model server ended the stream without a finish reason or [DONE] — the model likely failed " +
        "mid-reply (Ollama drops the error text; its log has it). The partial reply is kept; ask again to retry.",
      assembly.partial(),
    );
  }
  // A cut stream's calls may be cut too: none of them runs.
  const limitReached = limit.reached;
  const calls = limitReached ? [] : assembly.toolCalls.finish();
  for (const call of calls) emit({ type: "tool-call", call });
  const { content, reasoning } = partialOf(assembly);
  const usage = assembly.usage;
  const result = {
    content,
    reasoning,
    finishReason: limitReached ? "length" : (assembly.finishReason ?? (calls.length > 0 ? "tool_calls" : "stop")),
    toolCalls: calls,
    ...(usage ? { usage } : {}),
    ...(limitReached ? { limitReached } : {}),
  };
  emit({ type: "finish", finishReason: result.finishReason, ...(usage ? { usage } : {}) });
  return result;
}

function partialOf(assembly: CompletionAssembly): { content: string; reasoning: string } {
  const { partialContent, partialReasoning } = assembly.partial();
  return { content: partialContent, reasoning: partialReasoning };
}

/**
 * Feeds the SSE events of `response` to `assembly` until `[DONE]`, a limit, a failure or the end of the
 * body. Returns whether the stream was finished (`[DONE]` or a limit); throws the stream's failure.
 */
async function readEvents(response: Response, assembly: CompletionAssembly, signal: AbortSignal | undefined): Promise<boolean> {
  let done = false;
  let atEndOfStream = false;
  const template = new ChunkTemplate();
  const stopped = () => done || assembly.failure !== undefined || assembly.limit.reached !== undefined;
  const onData = (text: string, start: number, end: number) => {
    if (stopped()) return;
    const fits = template.readAt(text, start, end);
    if (fits) {
      assembly.addTemplated(template, fits.text);
      return;
    }
    const data = start === 0 && end === text.length ? text : text.slice(start, end);
    if (data === "[DONE]") {
      done = true;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      assembly.failure = unparsableEvent(data, atEndOfStream, assembly.partial());
      return;
    }
    template.learn(data, assembly.add(value));
  };
  // The usual event read off the template whole, before SseEvents searches for its end.
  const onKnownEvent = (text: string, at: number): number => {
    const value = template.readEvent(text, at);
    if (value === undefined || template.field === undefined) return -1;
    assembly.addTemplated(template, value, template.lastHeldAngle);
    return template.eventEnd(at, value);
  };
  const events = new SseEvents(
    onData,
    (error) => {
      assembly.failure ??= new ChatError("malformed-event", `the model server sent a malformed SSE stream: ${error.message}`, assembly.partial());
    },
    onKnownEvent,
  );
  const reader = response.body?.getReader();
  // Not TextDecoder: in stream mode bun's costs 4-5x a plain decode per read, the largest share of a small-read stream.
  const decoder = new StringDecoder("utf8");
  try {
    if (reader) {
      while (!stopped()) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        events.feed(decoder.write(value), stopped);
        assembly.settle();
      }
      // Flush a last event that lacked its blank line; if it is cut short it counts as an interruption.
      atEndOfStream = true;
      if (!stopped()) {
        events.feed(decoder.end(), stopped);
        events.end(stopped);
      }
    }
  } catch (error) {
    if (signal?.aborted) throw abortedError(signal, partialOf(assembly));
    throw new ChatError(
      "interrupted",
      `the connection to the model server broke mid-stream (${connectionDetail(error)}); the partial reply is kept.`,
      {
        ...assembly.partial(),
        cause: error,
      },
    );
  } finally {
    if (stopped()) await reader?.cancel().catch(() => {});
  }
  if (assembly.failure) throw assembly.failure;
  return done || assembly.limit.reached !== undefined;
}

function unparsableEvent(data: string, atEndOfStream: boolean, partial: { partialContent: string; partialReasoning: string }): ChatError {
  if (atEndOfStream) {
    return new ChatError(
      "interrupted",
      "the model server closed the stream in the middle of an event; the partial reply is kept. Ask again to retry.",
      partial,
    );
  }
  const sample = data.length > 200 ? `${data.slice(0, 200)}…` : data;
  return new ChatError(
    "malformed-event",
    `the model server sent an event that is not valid JSON: ${JSON.stringify(sample)}. The server or a proxy ` +
      `in between is not speaking the OpenAI streaming protocol.`,
    partial,
  );
}
