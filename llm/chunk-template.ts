import { readCommonChunk } from "./read-common-chunk.ts";
import type { ReadChunk, ToolCallDelta } from "./read-chunks.ts";

// A server streams a reply as events that differ in one string: `{"id":"chatcmpl-412",…,"delta":{"content":"␣the"},…}`,
// then `…"content":"␣cat"…`, the rest byte for byte the same. Once an event has been read in full (JSON.parse and
// readChunk), the text around its one delta string is a template: a later event made of that same prefix, one JSON
// string and that same suffix is the same chunk with that string in place, so its text is read without parsing the
// event. Whether the string really is what the chunk's field holds is proved on the template itself: the template
// with another string in place must read (by hand, readCommonChunk) as the same chunk with that string in the field.
// Anything else, however slightly off, goes through the full reading (chunk-template.property.test.ts).
// A tool call streamed in fragments (llama.cpp, vLLM, LM Studio) is the same: its events differ only in the string of
// `"arguments"`, so a fragment's event is its one call, as the template's, with that string for its arguments.

/** The delta fields holding text a template carries; only one of them may be set in its chunk. */
export type TextField = "content" | "reasoning" | "reasoning_content";
/** What the one changing string of a template's events is: a delta's text, or its one tool call's arguments. */
export type TemplateField = TextField | "arguments";
const FIELDS: readonly TextField[] = ["content", "reasoning", "reasoning_content"];

/** After this many templates none of which matched an event, a stream is read in full (an OpenAI stream's per-event nonce). */
const MOST_UNUSED_TEMPLATES = 4;

/** The events of one stream, read against the template of the last event read in full. */
export class ChunkTemplate {
  #prefix = "";
  #suffix = "";
  #field: TemplateField | undefined;
  /** The tool call of an `arguments` template, as the template reads; a fitting event's call is it with other arguments. */
  #call: ToolCallDelta = {};
  /** The SSE event around the text, `data: <prefix>"` and `"<suffix>` with its blank line; "" when the template spans lines. */
  #eventHead = "";
  #eventTail = "";
  #learned = 0;
  #matched = 0;
  #lastHeldAngle = false;

  /** The field and text of an event that fits the template, or undefined: read it in full. */
  read(data: string): { field: TemplateField; text: string } | undefined {
    return this.readAt(data, 0, data.length);
  }

  /** `read` of the event data in `text` from `start` to `end`, with no slice of it but the text it carries. */
  readAt(text: string, start: number, end: number): { field: TemplateField; text: string } | undefined {
    const field = this.#field;
    const open = start + this.#prefix.length;
    const close = end - this.#suffix.length - 1;
    if (field === undefined || close <= open || text.charCodeAt(open) !== 34 || text.charCodeAt(close) !== 34) return undefined;
    if (!text.startsWith(this.#prefix, start) || !text.startsWith(this.#suffix, close + 1)) return undefined;
    const value = plainText(text, open + 1, close) ?? stringToken(text.slice(open, close + 1));
    if (value === undefined) return undefined;
    this.#matched += 1;
    return { field, text: value };
  }

  /** The field the template's text goes to; set once `learn` took a template. */
  get field(): TemplateField | undefined {
    return this.#field;
  }

  /** The tool call of an event that fits an `arguments` template with `text` for its string: the chunk's one call. */
  call(text: string): ToolCallDelta {
    const { index, id, function: fn } = this.#call;
    // Built key by key as readCommonChunk builds it: a key it leaves out stays out.
    const call: ToolCallDelta = {};
    if (index !== undefined) call.index = index;
    if (id !== undefined) call.id = id;
    call.function = fn?.name === undefined ? { arguments: text } : { name: fn.name, arguments: text };
    return call;
  }

  /**
   * The text of the SSE event at `at` of `text`, `data: <data>` and a blank line, when its data fits the template and
   * its text needs no decoding; undefined otherwise. The event ends at `eventEnd(at, text)`. As `readAt` would read the
   * event's data, with no search for the event's end first.
   */
  readEvent(text: string, at: number): string | undefined {
    const head = this.#eventHead;
    if (head === "" || !text.startsWith(head, at)) return undefined;
    const open = at + head.length;
    let close = open;
    let angle = false;
    for (let code = text.charCodeAt(close); code !== 34; code = text.charCodeAt(close)) {
      // NaN past the end fails every comparison: `close` stops at text.length.
      if (!(code >= 32 && code !== 92)) return undefined;
      if (code === 60) angle = true;
      close += 1;
    }
    this.#lastHeldAngle = angle;
    return text.startsWith(this.#eventTail, close) ? this.#take(text.slice(open, close)) : undefined;
  }

  /** Whether the text `readEvent` last returned holds a "<" (seen as it was read, so a think splitter need not look again). */
  get lastHeldAngle(): boolean {
    return this.#lastHeldAngle;
  }

  /** Where the event that `readEvent` read at `at` as `value` ends. */
  eventEnd(at: number, value: string): number {
    return at + this.#eventHead.length + value.length + this.#eventTail.length;
  }

  #take(value: string): string {
    this.#matched += 1;
    return value;
  }

  /** Takes `data`, read in full as `chunk`, as the template of the events after it, when it can be one. */
  learn(data: string, chunk: ReadChunk | undefined): void {
    if (this.#learned >= MOST_UNUSED_TEMPLATES && this.#matched === 0) return;
    const varying = chunk ? varyingString(chunk) : undefined;
    if (!chunk || !varying) return;
    const at = data.lastIndexOf(`"${varying.field}":`);
    if (at < 0) return;
    let start = at + varying.field.length + 3;
    while (data.charCodeAt(start) === 32) start += 1;
    const end = stringTokenEnd(data, start);
    if (end < 0 || stringToken(data.slice(start, end)) !== varying.text) return;
    const prefix = data.slice(0, start);
    const suffix = data.slice(end);
    const proved = provedChoice(prefix, suffix, varying, chunk);
    if (!proved) return;
    this.#prefix = prefix;
    this.#suffix = suffix;
    this.#field = varying.field;
    // The call as the template itself reads: a fitting event reads the same, with its own string for the arguments.
    this.#call = proved.toolCalls[0] ?? {};
    this.#learned += 1;
    // A data line break in the template (data that came in several `data:` lines) is no event's one line.
    const oneLine = !/[\r\n]/.test(prefix + suffix);
    this.#eventHead = oneLine ? `data: ${prefix}"` : "";
    this.#eventTail = oneLine ? `"${suffix}\n\n` : "";
  }
}

type Choice = NonNullable<ReadChunk["choice"]>;

/** The string a template of a chunk would vary: its one text field's, or its one tool call's arguments. */
type Varying = { field: TemplateField; text: string };

function varyingString(chunk: ReadChunk): Varying | undefined {
  const choice = deltaOnly(chunk);
  return choice && (textOf(choice) ?? fragmentOf(choice));
}

/** The choice of `chunk` when the chunk is that choice's delta and nothing more: no error, usage or finish. */
function deltaOnly(chunk: ReadChunk): Choice | undefined {
  const choice = chunk.choice;
  const bare = chunk.error === undefined && (chunk.usage === undefined || chunk.usage === null) && choice?.finishReason === undefined;
  return bare ? choice : undefined;
}

/** The one delta field of `choice` that holds text, with its text, when the choice carries no call. */
function textOf(choice: Choice): Varying | undefined {
  if (choice.toolCalls.length > 0) return undefined;
  const withText = FIELDS.filter((field) => Boolean(choice.delta[field]));
  // The assembly reads `reasoning ?? reasoning_content`: an empty reasoning hides reasoning_content.
  if (withText[0] === "reasoning_content" && choice.delta.reasoning != null) return undefined;
  const field = withText.length === 1 ? withText[0] : undefined;
  const text = field === undefined ? undefined : choice.delta[field];
  return field !== undefined && typeof text === "string" ? { field, text } : undefined;
}

/** The arguments of `choice`'s one tool call, when that call is a fragment and the choice carries no text. */
function fragmentOf(choice: Choice): Varying | undefined {
  if (choice.toolCalls.length !== 1 || FIELDS.some((field) => Boolean(choice.delta[field]))) return undefined;
  const text = choice.toolCalls[0]?.function?.arguments;
  return typeof text === "string" ? { field: "arguments", text } : undefined;
}

/** The index after the JSON string token that starts at `start`, or -1 when none starts there. */
function stringTokenEnd(data: string, start: number): number {
  if (data.charCodeAt(start) !== 34) return -1;
  for (let at = start + 1; at < data.length; at += 1) {
    const code = data.charCodeAt(at);
    if (code === 92) at += 1;
    else if (code === 34) return at + 1;
  }
  return -1;
}

/** `data` from `start` to `end` when it needs no decoding inside a JSON string (no quote, backslash or control). */
function plainText(data: string, start: number, end: number): string | undefined {
  // A loop, not a regular expression: a token is a few characters, and a test costs more than its scan.
  for (let at = start; at < end; at += 1) {
    const code = data.charCodeAt(at);
    if (code === 34 || code === 92 || code < 32) return undefined;
  }
  return data.slice(start, end);
}

/** The string a text that is exactly one JSON string token stands for; undefined for any other text. */
function stringToken(literal: string): string | undefined {
  if (literal.length < 2 || literal.charCodeAt(0) !== 34 || literal.charCodeAt(literal.length - 1) !== 34) return undefined;
  const inside = plainText(literal, 1, literal.length - 1);
  if (inside !== undefined) return inside;
  try {
    const value: unknown = JSON.parse(literal);
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The template with another string in place, read by hand, when it reads as `chunk` with that string in the varying
 * field alone: a text field, or the arguments of its one tool call, everything else of the chunk as it was.
 */
function provedChoice(prefix: string, suffix: string, varying: Varying, chunk: ReadChunk): Choice | undefined {
  const probe = varying.text === "p" ? "q" : "p";
  let read: ReadChunk | undefined;
  try {
    read = readCommonChunk(JSON.parse(`${prefix}"${probe}"${suffix}`));
  } catch {
    return undefined;
  }
  const [was, now] = [chunk.choice, read?.choice];
  if (!was || !now || read?.error !== undefined || read?.usage !== chunk.usage) return undefined;
  if (now.finishReason !== was.finishReason) return undefined;
  const { field } = varying;
  if (!FIELDS.every((each) => now.delta[each] === (each === field ? probe : was.delta[each]))) return undefined;
  const calls = field === "arguments" ? 1 : 0;
  if (now.toolCalls.length !== calls || (calls === 1 && now.toolCalls[0]?.function?.arguments !== probe)) return undefined;
  return now;
}
