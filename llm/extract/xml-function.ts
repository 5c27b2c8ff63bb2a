// Qwen3-Coder / Qwen3.5 XML calls, also Functionary v3.1 and Hermes variants:
//   <function=bash>\n<parameter=command>\nls\n</parameter>\n</function>
//   <function=special_function>{"arg1": 1}</function>     <function name="special_function">{…}</function>
// Parameter values stay strings (without a tool schema there is nothing to convert them by, and vLLM does
// the same for unknown parameters). Closing tags may be missing, as in leaks seen from Ollama 0.32.5.
import { isRecord, isToolName } from "./call-shape.ts";
import { setOwn } from "./literal.ts";
import type { Item } from "./pythonic.ts";
import type { ScanContext } from "./scan-context.ts";

const FUNCTION_OPEN = /<function(?:=([^>\s]{1,128})|\s+name\s*=\s*["']([^"'>]{1,128})["'])\s*>/iy;
const PARAMETER_OPEN = /<parameter(?:=([^>\s]{1,128})|\s+name\s*=\s*["']([^"'>]{1,128})["'])\s*>/iy;
const PARAMETER_CLOSE = "</parameter>";
const FUNCTION_CLOSE = "</function>";
// Where an unterminated parameter value ends at the latest.
const VALUE_STOPS = ["<parameter", FUNCTION_CLOSE, "</tool_call>", "<function"];

export function readXmlFunction(context: ScanContext, at: number): Item | undefined {
  const text = context.text;
  FUNCTION_OPEN.lastIndex = at;
  const open = FUNCTION_OPEN.exec(text);
  if (!open) return undefined;
  const name = open[1] ?? open[2];
  if (!isToolName(name)) return undefined;
  let end = at + open[0].length;
  let cursor = context.skipSpace(end);
  let args: Record<string, unknown> = {};
  let sawBody = false;
  if (text[cursor] === "{") {
    const read = context.reader.read(cursor);
    if (!read || !isRecord(read.value)) return undefined;
    args = read.value;
    end = read.end;
    sawBody = true;
  } else {
    while (true) {
      PARAMETER_OPEN.lastIndex = cursor;
      const parameter = PARAMETER_OPEN.exec(text);
      // The tag names its parameter one way or the other; the pattern matches no tag without a name.
      const key = parameter?.[1] ?? parameter?.[2];
      if (!parameter || key === undefined) break;
      const valueStart = cursor + parameter[0].length;
      const close = context.nextIndex(PARAMETER_CLOSE, valueStart);
      const stop = firstStop(context, valueStart);
      if (close >= 0 && close <= stop) {
        setOwn(args, key, withoutFramingNewlines(text.slice(valueStart, close)));
        end = close + PARAMETER_CLOSE.length;
      } else {
        setOwn(args, key, text.slice(valueStart, stop).trim());
        end = stop;
      }
      sawBody = true;
      cursor = context.skipSpace(end);
    }
  }
  cursor = context.skipSpace(end);
  if (context.startsWithIgnoringCase(FUNCTION_CLOSE, cursor)) return { calls: [{ name, arguments: args }], end: cursor + FUNCTION_CLOSE.length };
  // Without a body, only `<function=name></function>` is a call; a bare `<function=x>` in prose is not.
  return sawBody ? { calls: [{ name, arguments: args }], end } : undefined;
}

function firstStop(context: ScanContext, from: number): number {
  let stop = context.text.length;
  for (const needle of VALUE_STOPS) {
    const index = context.nextIndex(needle, from);
    if (index >= 0 && index < stop) stop = index;
  }
  return stop;
}

// The template writes each value on its own lines: one newline after the opening and before the closing tag.
function withoutFramingNewlines(value: string): string {
  const start = value.startsWith("\r\n") ? 2 : value.startsWith("\n") ? 1 : 0;
  const end = value.endsWith("\r\n") ? value.length - 2 : value.endsWith("\n") ? value.length - 1 : value.length;
  return end >= start ? value.slice(start, end) : "";
}
