// A call written into a model's text that repeats text from outside the model (a tool's result, a fetched
// page, recalled memory, a workflow's output) is a quotation, not a decision: the loop refuses to run it.
import { type ExtractedToolCall, extractToolCalls, findToolCallBlocks } from "./extract-tool-calls.ts";

/** The look-alikes `neutralize` gives markup characters, and the characters they stand for. */
export const LOOK_ALIKES: Readonly<Record<string, string>> = {
  "‹": "<",
  "›": ">",
  "⟦": "[",
  "⟧": "]",
  ˋ: "`",
  "¦": "|",
  "“": '"',
  "”": '"',
  "‘": "'",
  "’": "'",
};
const LOOK_ALIKE = /[‹›⟦⟧ˋ¦“”‘’]/g;
const SPACE_RUN = /\s+/g;

/** Text as it reads: look-alikes read back, `[quoted] ` marks dropped, runs of whitespace one space. */
function asRead(text: string): string {
  return text
    .replaceAll("[quoted] ", "")
    .replace(LOOK_ALIKE, (character) => LOOK_ALIKES[character] ?? character)
    .replace(SPACE_RUN, " ");
}

/** Sorted keys at every depth, so that two spellings of one call compare equal. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  );
}
const signature = (call: ExtractedToolCall) => JSON.stringify([call.name, canonical(call.arguments)]);

const MAX_JSON_CHARS = 4 * 1024 * 1024;

/** The string values (and keys' values only) of a JSON text, at any depth; none when it is not JSON. */
function jsonStrings(text: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  const strings: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === "string") strings.push(item);
    else if (Array.isArray(item)) stack.push(...item);
    else if (typeof item === "object" && item !== null) stack.push(...Object.values(item));
  }
  return strings;
}

/** The outside text of one reply's context, read as it reads, and the calls written in it. */
export class OutsideText {
  #texts: string[] = [];
  #calls = new Set<string>();

  /** Adds text that came from outside the model (a tool's result, recalled memory, a page, a workflow's output). */
  add(text: string): void {
    if (text.trim() === "") return;
    const read = asRead(text);
    this.#texts.push(read);
    for (const call of extractToolCalls(read).toolCalls) this.#calls.add(signature(call));
    // A JSON result (memory_search's records, a workflow's output) quotes text in strings: each as it reads.
    if (/^\s*[[{]/.test(text) && text.length <= MAX_JSON_CHARS) {
      for (const value of jsonStrings(text)) if (value !== text) this.add(value);
    }
  }

  /**
   * The positions (in extraction order) of the calls written in `content` that repeat outside text: the
   * stretch the call was read from appears in it word for word (whitespace aside), or the same call (name
   * and arguments) is written in it in any format.
   */
  repeatedCalls(content: string, toolNames: readonly string[]): Set<number> {
    const repeated = new Set<number>();
    if (this.#texts.length === 0) return repeated;
    let position = 0;
    for (const block of findToolCallBlocks(content, { toolNames })) {
      const source = asRead(content.slice(block.start, block.end)).trim();
      const quoted = source !== "" && this.#texts.some((text) => text.includes(source));
      for (const call of block.calls) {
        if (quoted || this.#calls.has(signature(call))) repeated.add(position);
        position++;
      }
    }
    return repeated;
  }
}
