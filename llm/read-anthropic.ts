import { ChatError } from "./chat-errors.ts";
import { type CompletionAssembly, readBody } from "./completion-assembly.ts";
import { isRecord } from "./ollama-chat.ts";
import { SseEvents } from "./sse-events.ts";

/** Anthropic's `stop_reason` as the finish reason the rest of org reads (the OpenAI-compatible one). */
const FINISH: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  tool_use: "tool_calls",
  max_tokens: "length",
  refusal: "content_filter",
};

/** Anthropic's error types the API says to retry, with the status they come with. */
const RETRIED: Record<string, number> = { overloaded_error: 529, rate_limit_error: 429 };

const count = (value: unknown) => (typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0);

/**
 * Reads Anthropic's Messages stream (`message_start`, `content_block_start|delta|stop`, `message_delta`, `message_stop`,
 * `ping`, `error`) into the assembly as the OpenAI-compatible chunks it reads (the sibling of chat-once's SSE reader and
 * `read-ndjson.ts`): `text_delta` as content (`<think>` split as anywhere), `thinking_delta` as reasoning, a `tool_use`
 * block as a call whose arguments are its `input_json_delta` pieces, `stop_reason` as the finish reason, and the usage
 * (`input_tokens` with the cache's, `output_tokens`). Returns whether the stream was finished (`message_stop` or a
 * limit); throws its failure (an `error` event is an `http` ChatError, retryable where Anthropic says so).
 */
export async function readAnthropic(response: Response, assembly: CompletionAssembly, signal: AbortSignal | undefined): Promise<boolean> {
  const reader = new AnthropicEvents(assembly);
  let atEnd = false;
  const stopped = () => reader.done || assembly.failure !== undefined || assembly.limit.reached !== undefined;
  const events = new SseEvents(
    (text, start, end) => {
      if (stopped()) return;
      const data = text.slice(start, end);
      let value: unknown;
      try {
        value = JSON.parse(data);
      } catch {
        assembly.failure = atEnd
          ? new ChatError(
              "interrupted",
              "the model server closed the stream in the middle of an event; the partial reply is kept. Ask again to retry.",
              assembly.partial(),
            )
          : new ChatError(
              "malformed-event",
              `the model server sent an event that is not valid JSON: ${JSON.stringify(data.length > 200 ? `${data.slice(0, 200)}…` : data)}. ` +
                `The server or a proxy in between is not speaking Anthropic's Messages stream; check the persona's "api".`,
              assembly.partial(),
            );
        return;
      }
      reader.read(value);
    },
    (error) => {
      assembly.failure ??= new ChatError("malformed-event", `the model server sent a malformed SSE stream: ${error.message}`, assembly.partial());
    },
  );
  await readBody(response, assembly, signal, stopped, {
    text: (piece) => events.feed(piece, stopped),
    end: (rest) => {
      atEnd = true;
      if (stopped()) return;
      events.feed(rest, stopped);
      events.end(stopped);
    },
  });
  return reader.done || assembly.limit.reached !== undefined;
}

/** One stream's events read into the assembly, with what the stream has said so far: its prompt's tokens, its end. */
class AnthropicEvents {
  done = false;
  #promptTokens = 0;

  constructor(private readonly assembly: CompletionAssembly) {}

  read(value: unknown): void {
    const assembly = this.assembly;
    if (!isRecord(value)) return;
    const index = typeof value.index === "number" ? value.index : 0;
    switch (value.type) {
      case "message_start": {
        const usage = isRecord(value.message) && isRecord(value.message.usage) ? value.message.usage : {};
        this.#promptTokens = count(usage.input_tokens) + count(usage.cache_creation_input_tokens) + count(usage.cache_read_input_tokens);
        return;
      }
      case "content_block_start":
        this.#blockStart(index, isRecord(value.content_block) ? value.content_block : {});
        return;
      case "content_block_delta":
        this.#blockDelta(index, isRecord(value.delta) ? value.delta : {});
        return;
      case "message_delta": {
        const reason = isRecord(value.delta) && typeof value.delta.stop_reason === "string" ? value.delta.stop_reason : undefined;
        const usage = isRecord(value.usage) ? value.usage : undefined;
        assembly.add({
          choices: [{ delta: {}, finish_reason: reason === undefined ? null : (FINISH[reason] ?? reason) }],
          ...(usage
            ? { usage: { prompt_tokens: this.#promptTokens + count(usage.input_tokens), completion_tokens: count(usage.output_tokens) } }
            : {}),
        });
        return;
      }
      case "message_stop":
        this.done = true;
        return;
      case "error":
        assembly.failure = streamError(value.error, assembly);
        return;
      default:
      // ping, content_block_stop and event types added later say nothing to assemble
    }
  }

  #blockStart(index: number, block: Record<string, unknown>): void {
    if (block.type === "tool_use" && typeof block.id === "string" && typeof block.name === "string")
      this.assembly.add({
        choices: [{ delta: { tool_calls: [{ index, id: block.id, type: "function", function: { name: block.name, arguments: "" } }] } }],
      });
    else if (block.type === "text" && typeof block.text === "string" && block.text !== "")
      this.assembly.add({ choices: [{ delta: { content: block.text } }] });
  }

  #blockDelta(index: number, delta: Record<string, unknown>): void {
    if (delta.type === "text_delta" && typeof delta.text === "string") this.assembly.add({ choices: [{ delta: { content: delta.text } }] });
    else if (delta.type === "thinking_delta" && typeof delta.thinking === "string")
      this.assembly.add({ choices: [{ delta: { reasoning: delta.thinking } }] });
    else if (delta.type === "input_json_delta" && typeof delta.partial_json === "string")
      this.assembly.add({ choices: [{ delta: { tool_calls: [{ index, function: { arguments: delta.partial_json } }] } }] });
  }
}

/** An `error` event: its type and message said, retryable (with the status the API gives it) when the type is one Anthropic says to retry. */
function streamError(error: unknown, assembly: CompletionAssembly): ChatError {
  const type = isRecord(error) && typeof error.type === "string" ? error.type : "error";
  const message = isRecord(error) && typeof error.message === "string" ? error.message.slice(0, 500) : "no message";
  const status = RETRIED[type];
  const advice = status !== undefined ? " The server is busy or failed for a moment; ask again shortly." : "";
  return new ChatError("http", `the model server reported an error mid-stream (${type}): ${message}.${advice}`, {
    serverMessage: message,
    ...(status !== undefined ? { status } : {}),
    ...assembly.partial(),
  });
}
