import type { ReadChunk, ToolCallDelta } from "./read-chunks.ts";

// The chunk nearly every server sends, read without zod: a plain object, no `error`, at most one choice
// with a `delta` (no `message`) whose fields are strings or null, tool-call entries with a small index,
// a string id and name. For such a chunk the result is exactly what the schemas in read-chunks.ts give
// (read-common-chunk.property.test.ts checks it); anything else, however slightly off, is left to them.
// A zod parse costs several times the JSON.parse of a chunk, and streaming pays it on every chunk.

/** An index beyond this is left to the schema (which takes any safe integer): no server sends one. */
const LARGEST_PLAIN_INDEX = 0x7fff_ffff;

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** Whether `key` is absent; a key present with the value undefined (never in JSON) is left to the schema. */
function absent(object: Plain, key: string): boolean {
  return object[key] === undefined && !(key in object);
}

type DeltaText = "content" | "reasoning" | "reasoning_content";

/** Copies a string-or-null field that is present; false when it is neither (or present but undefined). */
function copyNullishString(from: Plain, key: DeltaText, to: Partial<Record<DeltaText, string | null>>): boolean {
  const value = from[key];
  if (typeof value === "string" || value === null) {
    to[key] = value;
    return true;
  }
  return absent(from, key);
}

function readCall(value: unknown): ToolCallDelta | undefined {
  if (!isPlain(value)) return undefined;
  const call: ToolCallDelta = {};
  const { index, id } = value;
  if (typeof index === "number") {
    if (!(Number.isInteger(index) && index >= 0 && index <= LARGEST_PLAIN_INDEX)) return undefined;
    call.index = index;
  } else if (!absent(value, "index")) return undefined;
  if (typeof id === "string") call.id = id;
  else if (!absent(value, "id")) return undefined;
  const fn = value.function;
  if (fn !== undefined || !absent(value, "function")) {
    if (!isPlain(fn)) return undefined;
    const read: NonNullable<ToolCallDelta["function"]> = {};
    if (typeof fn.name === "string") read.name = fn.name;
    else if (!absent(fn, "name")) return undefined;
    if (fn.arguments !== undefined) read.arguments = fn.arguments;
    else if (!absent(fn, "arguments")) return undefined;
    call.function = read;
  }
  return call;
}

/** The common chunk read by hand; undefined means "not the common shape": read it with the schemas. */
export function readCommonChunk(value: unknown): ReadChunk | undefined {
  if (!isPlain(value) || !absent(value, "error")) return undefined;
  const { usage, choices } = value;
  if (usage === undefined && !absent(value, "usage")) return undefined;
  if (choices === undefined || choices === null) {
    if (choices === undefined && !absent(value, "choices")) return undefined;
    return { error: undefined, usage };
  }
  if (!Array.isArray(choices) || choices.length > 1) return undefined;
  if (choices.length === 0) return { error: undefined, usage };
  const choice: unknown = choices[0];
  if (!isPlain(choice) || !absent(choice, "message")) return undefined;
  const finish = choice.finish_reason;
  if (!(typeof finish === "string" || finish === null || absent(choice, "finish_reason"))) return undefined;
  const source = choice.delta;
  const delta: Partial<Record<DeltaText, string | null>> = {};
  const toolCalls: ToolCallDelta[] = [];
  if (isPlain(source)) {
    if (!copyNullishString(source, "content", delta)) return undefined;
    if (!copyNullishString(source, "reasoning", delta)) return undefined;
    if (!copyNullishString(source, "reasoning_content", delta)) return undefined;
    const calls = source.tool_calls;
    if (Array.isArray(calls)) {
      for (const entry of calls) {
        const call = readCall(entry);
        if (!call) return undefined;
        toolCalls.push(call);
      }
    } else if (!absent(source, "tool_calls")) return undefined;
  } else if (source !== null && !absent(choice, "delta")) return undefined;
  // Built field by field: a spread of a conditional object costs an allocation and a copy on every chunk.
  const read: NonNullable<ReadChunk["choice"]> = { delta, toolCalls };
  if (typeof finish === "string" && finish !== "") read.finishReason = finish;
  return { error: undefined, usage, choice: read };
}
