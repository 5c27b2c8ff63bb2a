// Fenced blocks: ```json\n{"name": …, "arguments": {…}}\n``` (also no language, xml, tool_call, and
// llama.cpp's ```json <function_call>{…}</function_call>```). All or nothing: a fence whose body is not only
// calls, or a fence in another language, is code; it stays text and nothing inside it is a call. As in
// Markdown, a fence opens at the start of a line (after at most three spaces), so inline ```ls``` is not one.
import { readCallSequence } from "./call-sequence.ts";
import type { Format } from "./scan-context.ts";

const FENCE_OPEN = /```[ \t]*([\w+-]{0,32})[ \t]*\r?\n/y;
const FENCE = "```";
const CLOSING_FENCE = "\n```";
const CALL_LANGUAGES = new Set(["", "json", "json5", "jsonc", "xml", "tool_call", "tool_calls", "tool_code", "function_call"]);

export const fenced: Format = {
  name: "fenced",
  trigger: "```",
  read(context, at) {
    const text = context.text;
    if (!startsLine(text, at)) return undefined;
    FENCE_OPEN.lastIndex = at;
    const open = FENCE_OPEN.exec(text);
    if (!open) return undefined;
    const bodyStart = FENCE_OPEN.lastIndex;
    if (CALL_LANGUAGES.has((open[1] ?? "").toLowerCase())) {
      const body = readCallSequence(context, bodyStart);
      if (body) {
        const after = context.skipSpace(body.end);
        if (text.startsWith(FENCE, after)) return { start: at, end: after + FENCE.length, calls: body.calls };
        if (after === text.length) return { start: at, end: after, calls: body.calls };
      }
    }
    // The closing fence starts a line too; the opening line's newline is where that search begins.
    const close = context.nextIndex(CLOSING_FENCE, bodyStart - 1);
    return { start: at, end: close < 0 ? text.length : close + CLOSING_FENCE.length, calls: [] };
  },
};

// Only spaces or tabs, at most three, between the previous newline (or the start) and `at`.
function startsLine(text: string, at: number): boolean {
  for (let index = at - 1; index >= Math.max(0, at - 4); index -= 1) {
    if (text[index] === "\n") return true;
    if (text[index] !== " " && text[index] !== "\t") return false;
  }
  return at <= 3;
}
