import { ChatError } from "./chat-errors.ts";
import type { Completion, CompletionRequest } from "./language-model.ts";
import { abortedError, openStream } from "./open-stream.ts";
import { ChunkTemplate } from "./chunk-template.ts";
import { SseEvents } from "./sse-events.ts";
import { StreamLimit } from "./stream-limit.ts";
import { CompletionAssembly, partialOf, readBody } from "./completion-assembly.ts";
import { readNdjson } from "./read-ndjson.ts";
import { readAnthropic } from "./read-anthropic.ts";

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
  /** Through Ollama's own `POST /api/chat` (streamed NDJSON) with this `options.num_ctx`, instead of `/v1/chat/completions`. */
  ollama?: { numCtx: number };
  /** Through Anthropic's Messages API (`POST /v1/messages`, its SSE events; the key as `x-api-key`) instead of `/v1/chat/completions`. */
  anthropic?: boolean;
  /** Sent as they are: `temperature: 0` and a `seed` make a server that honours them answer the same way each time. */
  sampling?: Sampling;
};

/** The request fields that make a completion repeatable where the server allows it (OpenAI, Ollama, vLLM, llama.cpp). */
export type Sampling = { temperature?: number; seed?: number };

export type { ReplyLimitStop } from "./stream-limit.ts";

export type { ReceivedToolCall } from "./read-chunks.ts";

/**
 * One streamed completion from `POST {baseUrl}/v1/chat/completions`: content, reasoning and tool calls
 * stitched from SSE frames of any OpenAI-compatible server (Ollama old and new, OpenAI, llama.cpp, vLLM); with
 * `ollama`, from the NDJSON lines of Ollama's own `POST /api/chat` (`read-ndjson.ts`), with `anthropic`, from the events
 * of Anthropic's `POST /v1/messages` (`read-anthropic.ts`), each read into the same assembly.
 */
export async function chatOnce(request: ChatRequest): Promise<Completion> {
  const response = await openStream(request);
  request.onEvent?.({ type: "response-start", status: response.status });
  const emit = request.onEvent ?? (() => {});
  const limit = new StreamLimit(request.stopAt?.chars ?? Number.POSITIVE_INFINITY, request.stopAt?.tokens ?? Number.POSITIVE_INFINITY);
  const assembly = new CompletionAssembly(request.onEvent, limit);
  const done = request.anthropic
    ? await readAnthropic(response, assembly, request.signal)
    : request.ollama
      ? await readNdjson(response, assembly, request.signal)
      : await readEvents(response, assembly, request.signal);
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
  await readBody(response, assembly, signal, stopped, {
    text: (piece) => events.feed(piece, stopped),
    // Flush a last event that lacked its blank line; if it is cut short it counts as an interruption.
    end: (rest) => {
      atEndOfStream = true;
      if (stopped()) return;
      events.feed(rest, stopped);
      events.end(stopped);
    },
  });
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
