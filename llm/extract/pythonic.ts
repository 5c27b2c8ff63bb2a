// Pythonic calls (Llama 3.2/4, `<|python_tag|>`): `[get_weather(city='Paris', days=3), get_time()]`.
// Keyword arguments only; values are Python literals read by the tolerant literal reader.
import type { ExtractedToolCall } from "./extract-tool-calls.ts";
import { isToolName } from "./call-shape.ts";
import { setOwn } from "./literal.ts";
import type { Format, ScanContext } from "./scan-context.ts";

const CALL_NAME = /[A-Za-z_][\w.-]{0,127}/y;
const KEYWORD = /[A-Za-z_]\w{0,127}/y;

export type Item = { calls: ExtractedToolCall[]; end: number };

/** `name(key=value, …)` at `at`; `python.call(…)` (Llama's built-in tool form) is the call `python`. */
export function readPythonCall(context: ScanContext, at: number): Item | undefined {
  const text = context.text;
  CALL_NAME.lastIndex = at;
  const written = CALL_NAME.exec(text)?.[0];
  if (written === undefined) return undefined;
  const name = written.endsWith(".call") ? written.slice(0, -".call".length) : written;
  if (!isToolName(name)) return undefined;
  let cursor = context.skipSpace(at + written.length);
  if (text[cursor] !== "(") return undefined;
  cursor = context.skipSpace(cursor + 1);
  const args: Record<string, unknown> = {};
  while (text[cursor] !== ")") {
    KEYWORD.lastIndex = cursor;
    const key = KEYWORD.exec(text)?.[0];
    if (key === undefined) return undefined;
    cursor = context.skipSpace(cursor + key.length);
    if (text[cursor] !== "=") return undefined;
    const value = context.reader.read(context.skipSpace(cursor + 1));
    if (!value) return undefined;
    setOwn(args, key, value.value);
    cursor = context.skipSpace(value.end);
    if (text[cursor] === ",") cursor = context.skipSpace(cursor + 1);
    else if (text[cursor] !== ")") return undefined;
  }
  return { calls: [{ name, arguments: args }], end: cursor + 1 };
}

/** `[call, call, …]` at `at` (which holds the `[`). */
export function readPythonList(context: ScanContext, at: number): Item | undefined {
  const text = context.text;
  const calls: ExtractedToolCall[] = [];
  let cursor = context.skipSpace(at + 1);
  while (true) {
    const call = readPythonCall(context, cursor);
    if (!call) return undefined;
    calls.push(...call.calls);
    cursor = context.skipSpace(call.end);
    if (text[cursor] === "]") return { calls, end: cursor + 1 };
    if (text[cursor] !== ",") return undefined;
    cursor = context.skipSpace(cursor + 1);
    if (text[cursor] === "]") return { calls, end: cursor + 1 };
  }
}

export const pythonicList: Format = {
  name: "pythonic",
  trigger: String.raw`\[\s*[A-Za-z_][\w.-]{0,127}\s*\(`,
  read(context, at) {
    const list = readPythonList(context, at);
    return list && { start: at, end: list.end, calls: list.calls };
  },
};
