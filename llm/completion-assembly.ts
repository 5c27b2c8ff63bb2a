import { StringDecoder } from "node:string_decoder";
import { ChatError, connectionDetail } from "./chat-errors.ts";
import { abortedError } from "./open-stream.ts";
import type { ChunkTemplate } from "./chunk-template.ts";
import { chunkErrorMessage, fragmentLength, type ReadChunk, readChunk, readUsage, ToolCallAccumulator, type ToolCallDelta } from "./read-chunks.ts";
import type { StreamLimit } from "./stream-limit.ts";
import { TextParts } from "./text-parts.ts";
import { ThinkSplitter } from "./think-splitter.ts";
import type { StreamEvent, Usage } from "./chat-types.ts";

type Emit = (event: StreamEvent) => void;

/** Builds one completion from parsed chunks: text and reasoning (split out of `<think>`), tool calls, usage. */
export class CompletionAssembly {
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

/** What the assembly holds so far, as a completion's content and reasoning. */
export function partialOf(assembly: CompletionAssembly): { content: string; reasoning: string } {
  const { partialContent, partialReasoning } = assembly.partial();
  return { content: partialContent, reasoning: partialReasoning };
}

/**
 * Reads `response`'s body, decoded, into `parts.text` until `stopped` or its end (then `parts.end` gets what the decoder
 * still held), settling the assembly after each read; a read that throws is the caller's stop or a broken connection
 * (what came is kept); the assembly's failure is thrown. What SSE and Ollama's NDJSON readers share.
 */
export async function readBody(
  response: Response,
  assembly: CompletionAssembly,
  signal: AbortSignal | undefined,
  stopped: () => boolean,
  parts: { text: (piece: string) => void; end: (rest: string) => void },
): Promise<void> {
  const reader = response.body?.getReader();
  // Not TextDecoder: in stream mode bun's costs 4-5x a plain decode per read, the largest share of a small-read stream.
  const decoder = new StringDecoder("utf8");
  try {
    if (reader) {
      while (!stopped()) {
        const { value, done } = await reader.read();
        if (done) break;
        parts.text(decoder.write(value));
        assembly.settle();
      }
      parts.end(decoder.end());
    }
  } catch (error) {
    throw brokenStream(error, assembly, signal);
  } finally {
    if (stopped()) await reader?.cancel().catch(() => {});
  }
  if (assembly.failure) throw assembly.failure;
}

/** What a read that threw means: the caller's stop, or a connection that broke mid-stream (what came is kept). */
function brokenStream(error: unknown, assembly: CompletionAssembly, signal: AbortSignal | undefined): ChatError {
  if (signal?.aborted) return abortedError(signal, partialOf(assembly));
  return new ChatError(
    "interrupted",
    `the connection to the model server broke mid-stream (${connectionDetail(error)}); the partial reply is kept.`,
    {
      ...assembly.partial(),
      cause: error,
    },
  );
}
