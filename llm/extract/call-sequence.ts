// The body of an explicit marker: one or more calls, separated by whitespace, `,` or `;`. A call is a
// JSON/Python-dict value (object, array, `{"tool_calls": […]}`), a pythonic `f(a=1)` or `[f(a=1)]`, an XML
// `<function=…>` block, or a nested wrapper tag such as `<function_call>{…}</function_call>`.
import { callsFromValue } from "./call-shape.ts";
import { type Item, readPythonCall, readPythonList } from "./pythonic.ts";
import type { ScanContext } from "./scan-context.ts";
import { readXmlFunction } from "./xml-function.ts";

// Tags llama.cpp's Hermes parser accepts around a JSON call; case-insensitive, the closing tag optional.
const WRAPPER_OPEN = /<(tool_calls?|tools?|function_calls?|response|json|xml|seed:tool_call)>/iy;
// One wrapper inside another (`<tool_call><function_call>{…}`) is as deep as real output goes.
const MAX_NESTING = 1;

/** The calls starting at `at` (after optional whitespace); `end` is just past the last call. */
export function readCallSequence(context: ScanContext, at: number, nesting = 0): Item | undefined {
  const text = context.text;
  const calls: Item["calls"] = [];
  let end = at;
  let cursor = at;
  while (true) {
    const item = readItem(context, context.skipSpace(cursor), nesting);
    if (!item) break;
    calls.push(...item.calls);
    end = item.end;
    cursor = context.skipSpace(item.end);
    if (text[cursor] === ";" || text[cursor] === ",") cursor += 1;
  }
  return calls.length > 0 ? { calls, end } : undefined;
}

/** `<tool_call>…</tool_call>` and its relatives at `at`. */
export function readWrapperTag(context: ScanContext, at: number, nesting = 0): Item | undefined {
  if (nesting > MAX_NESTING) return undefined;
  WRAPPER_OPEN.lastIndex = at;
  const open = WRAPPER_OPEN.exec(context.text);
  if (!open) return undefined;
  const body = readCallSequence(context, at + open[0].length, nesting + 1);
  if (!body) return undefined;
  const close = `</${open[1]}>`;
  const after = context.skipSpace(body.end);
  return { calls: body.calls, end: context.startsWithIgnoringCase(close, after) ? after + close.length : body.end };
}

function readItem(context: ScanContext, at: number, nesting: number): Item | undefined {
  const char = context.text[at];
  if (char === "{" || char === "[") {
    const read = context.reader.read(at);
    const calls = read && callsFromValue(read.value, { explicit: true, toolNames: context.toolNames });
    if (read && calls) return { calls, end: read.end };
    return char === "[" ? readPythonList(context, at) : undefined;
  }
  if (char === "<") return readXmlFunction(context, at) ?? readWrapperTag(context, at, nesting);
  return readPythonCall(context, at);
}
