import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";
import { isTokenCount } from "./token-count.ts";
import type { ToolCall, Usage } from "./chat-types.ts";
import { readCommonChunk } from "./read-common-chunk.ts";

/** A tool call whose arguments were not valid JSON keeps the raw text here; its `arguments` is `{}`. */
export type ReceivedToolCall = ToolCall & { invalidArguments?: string };

// Two schemas for each shape (the common chunk is read by hand first, with the same result: read-common-chunk.ts):
// a strict one, and a lenient one, tried only when the strict one fails, where a field of the wrong type reads as absent
// (`catch`), so one odd field never drops a chunk. They agree on every value the strict one accepts. Made on first use:
// nearly every chunk a server sends is the common one, which never reaches them.
const chunkSchemas = onFirstUse(() => {
  const optionalString = z.string().optional().catch(undefined);
  const nullishString = z.string().nullish();

  const StrictToolCallDelta = z.object({
    index: z.number().int().nonnegative().optional(),
    id: z.string().optional(),
    function: z.object({ name: z.string().optional(), arguments: z.unknown().optional() }).optional(),
  });
  const LenientToolCallDelta = z.object({
    index: z.number().int().nonnegative().optional().catch(undefined),
    id: optionalString,
    function: z.object({ name: optionalString, arguments: z.unknown().optional() }).optional().catch(undefined),
  });
  const StrictDelta = z.object({
    content: nullishString,
    reasoning: nullishString,
    reasoning_content: nullishString,
    tool_calls: z.array(StrictToolCallDelta).optional(),
  });
  const StrictChoice = z.object({ delta: StrictDelta.nullish(), message: StrictDelta.nullish(), finish_reason: nullishString });
  const StrictChunk = z.object({
    error: z.unknown().optional(),
    usage: z.unknown().optional(),
    choices: z.array(StrictChoice).nullish(),
  });

  const LenientDelta = z.object({
    content: optionalString,
    reasoning: optionalString,
    reasoning_content: optionalString,
    tool_calls: z.array(z.unknown()).optional().catch(undefined),
  });
  // A delta that is not an object says nothing (and hides `message`); null or absent falls through to `message`.
  const LenientDeltaField = LenientDelta.nullish().catch({});
  const LenientChoice = z.object({ delta: LenientDeltaField, message: LenientDeltaField, finish_reason: optionalString });
  const LenientChunk = z.object({
    error: z.unknown().optional(),
    usage: z.unknown().optional(),
    choices: z.array(z.unknown()).nullish().catch(undefined),
  });
  return { StrictToolCallDelta, LenientToolCallDelta, StrictChunk, LenientChunk, LenientChoice };
});

/** One entry of `delta.tool_calls`: an OpenAI-style fragment or an Ollama-style whole call. */
export type ToolCallDelta = z.infer<ReturnType<typeof chunkSchemas>["StrictToolCallDelta"]>;

/** A tool-call entry as far as org reads it; undefined when it is not an object at all. */
export function readToolCallDelta(value: unknown): ToolCallDelta | undefined {
  const { StrictToolCallDelta, LenientToolCallDelta } = chunkSchemas();
  const strict = StrictToolCallDelta.safeParse(value);
  if (strict.success) return strict.data;
  const lenient = LenientToolCallDelta.safeParse(value);
  return lenient.success ? lenient.data : undefined;
}

type ChunkDelta<Call> = {
  content?: string | null | undefined;
  reasoning?: string | null | undefined;
  reasoning_content?: string | null | undefined;
  tool_calls?: Call[] | undefined;
};

/** One `chat.completion.chunk` as far as org reads it: a server error, usage, and the first choice's parts. */
export type ReadChunk = {
  error?: unknown;
  usage?: unknown;
  /** `toolCalls` entries are undefined where an entry is not an object (it still counts against the reply's size). */
  choice?: { delta: ChunkDelta<never>; toolCalls: (ToolCallDelta | undefined)[]; finishReason?: string };
};

/** Reads a decoded chunk; undefined when it is not an object at all (such a chunk says nothing). */
export function readChunk(value: unknown): ReadChunk | undefined {
  return readCommonChunk(value) ?? readChunkBySchema(value);
}

/** `readChunk` by the schemas alone: what the common chunk's hand-written reading must agree with. */
export function readChunkBySchema(value: unknown): ReadChunk | undefined {
  const { StrictChunk, LenientChunk, LenientChoice } = chunkSchemas();
  const strict = StrictChunk.safeParse(value);
  if (strict.success) {
    const { error, usage, choices } = strict.data;
    const first = choices?.[0];
    return { error, usage, ...(first ? { choice: choiceParts(first, (call) => call) } : {}) };
  }
  const lenient = LenientChunk.safeParse(value);
  if (!lenient.success) return undefined;
  const { error, usage, choices } = lenient.data;
  const first = choices?.[0] ? LenientChoice.safeParse(choices[0]) : undefined;
  return { error, usage, ...(first?.success ? { choice: choiceParts(first.data, readToolCallDelta) } : {}) };
}

type ChoiceOf<Call> = {
  delta?: ChunkDelta<Call> | null | undefined;
  message?: ChunkDelta<Call> | null | undefined;
  finish_reason?: string | null | undefined;
};

function choiceParts<Call>(choice: ChoiceOf<Call>, readCall: (call: Call) => ToolCallDelta | undefined) {
  const { tool_calls, ...delta } = choice.delta ?? choice.message ?? {};
  return { delta, toolCalls: (tool_calls ?? []).map(readCall), ...(choice.finish_reason ? { finishReason: choice.finish_reason } : {}) };
}

const ErrorWithMessage = z.object({ message: z.string() });

/** The text of a mid-stream `error` field: a string, an object's `message`, or the JSON of it. */
export function chunkErrorMessage(error: unknown): string {
  if (typeof error === "string") return error;
  const parsed = ErrorWithMessage.safeParse(error);
  return parsed.success ? parsed.data.message : JSON.stringify(error);
}

/** The length a tool-call fragment counts against the reply's limit. */
export function fragmentLength(delta: ToolCallDelta | undefined): number {
  const fragment = delta?.function?.arguments;
  return typeof fragment === "string" ? fragment.length : JSON.stringify(fragment ?? "").length;
}

/** More tokens than any model's context holds: a count above it is not believed. */
const MOST_CREDIBLE_TOKENS = 100_000_000;

const UsageFields = z.object({ prompt_tokens: z.unknown().optional(), completion_tokens: z.unknown().optional() });

/**
 * The server's token counts, when they are believable. A negative, fractional, non-finite or absurd count
 * (a hostile or broken server) gives undefined, so the caller estimates from the text instead: such a
 * count must not lower the session's spending or switch the budget off.
 */
export function readUsage(value: unknown): Usage | undefined {
  // Most chunks carry none: skip the schema (a failed parse builds an error, which is slow on every chunk).
  if (typeof value !== "object" || value === null) return undefined;
  const parsed = UsageFields.safeParse(value);
  if (!parsed.success) return undefined;
  const usage = parsed.data;
  if (usage.prompt_tokens === undefined && usage.completion_tokens === undefined) return undefined;
  const credible = (count: unknown) =>
    count === undefined || count === null || (isTokenCount(count) && Number.isInteger(count) && count <= MOST_CREDIBLE_TOKENS);
  if (!credible(usage.prompt_tokens) || !credible(usage.completion_tokens)) return undefined;
  return {
    promptTokens: typeof usage.prompt_tokens === "number" ? usage.prompt_tokens : 0,
    completionTokens: typeof usage.completion_tokens === "number" ? usage.completion_tokens : 0,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseArguments(text: string): { arguments: Record<string, unknown>; invalid?: string } {
  if (text.trim() === "") return { arguments: {} };
  try {
    let value: unknown = JSON.parse(text);
    // Some servers double-encode: the arguments string holds a JSON string of the object.
    if (typeof value === "string") value = JSON.parse(value);
    if (isRecord(value)) return { arguments: value };
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

type PartialCall = { id: string; name: string; argumentsText: string };

/** Stitches tool-call deltas: OpenAI-style fragments by index, and Ollama's whole calls (index bug included). */
export class ToolCallAccumulator {
  readonly calls: PartialCall[] = [];
  #byIndex = new Map<number, PartialCall>();

  add(delta: ToolCallDelta): void {
    const { index } = delta;
    const id = delta.id !== undefined && delta.id !== "" ? delta.id : undefined;
    const name = delta.function?.name ?? "";
    const argumentsValue = delta.function?.arguments;
    const whole = typeof argumentsValue === "object" && argumentsValue !== null;
    const argumentsText = typeof argumentsValue === "string" ? argumentsValue : whole ? JSON.stringify(argumentsValue) : "";

    let call = index === undefined ? undefined : this.#byIndex.get(index);
    // A new id at a known index is a new call (Ollama reports several calls all at index 0);
    // so is a call without any index (servers before Ollama v0.4.7).
    if (!call || (id !== undefined && call.id !== "" && call.id !== id) || index === undefined) {
      call = { id: id ?? "", name: "", argumentsText: "" };
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
