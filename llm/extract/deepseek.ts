// DeepSeek R1 / V3 markers (full-width bars and "▁"; ASCII spellings accepted too):
//   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n```json\n{…}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>
// V3.1 drops the type and the fence: <｜tool▁call▁begin｜>name<｜tool▁sep｜>{…}<｜tool▁call▁end｜>
import type { ExtractedToolCall } from "./extract-tool-calls.ts";
import { isRecord, isToolName } from "./call-shape.ts";
import type { Format, ScanContext } from "./scan-context.ts";

function marker(words: string, sticky: boolean): RegExp {
  return new RegExp(`<[｜|]tool[▁_]${words.replaceAll(" ", "[▁_]")}[｜|]>`, sticky ? "iy" : "i");
}

const CALLS_BEGIN = marker("calls begin", true);
const CALLS_END = marker("calls end", true);
const CALL_BEGIN = marker("call begin", true);
const CALL_END = marker("call end", true);
const SEPARATOR = marker("sep", false);
const NAME_LINE = /[^\n]{1,128}/y;
const FENCE_OPEN = /```[ \t]*(?:json)?[ \t]*\r?\n?/iy;

function matchAt(pattern: RegExp, text: string, at: number): number | undefined {
  pattern.lastIndex = at;
  return pattern.exec(text) ? pattern.lastIndex : undefined;
}

export const deepseek: Format = {
  name: "deepseek",
  trigger: `<[｜|]tool[▁_]calls[▁_]begin[｜|]>`,
  read(context, at) {
    const text = context.text;
    let end = matchAt(CALLS_BEGIN, text, at);
    if (end === undefined) return undefined;
    const calls: ExtractedToolCall[] = [];
    while (true) {
      const callStart = matchAt(CALL_BEGIN, text, context.skipSpace(end));
      if (callStart === undefined) break;
      const call = readOneCall(context, callStart);
      if (!call) return undefined;
      calls.push(call.call);
      end = call.end;
    }
    if (calls.length === 0) return undefined;
    end = matchAt(CALLS_END, text, context.skipSpace(end)) ?? end;
    return { start: at, end, calls };
  },
};

function readOneCall(context: ScanContext, at: number): { call: ExtractedToolCall; end: number } | undefined {
  const text = context.text;
  const window = text.slice(at, at + 160);
  const separator = SEPARATOR.exec(window);
  if (!separator) return undefined;
  const head = window.slice(0, separator.index).trim();
  let cursor = at + separator.index + separator[0].length;
  let name = head;
  if (head === "function") {
    NAME_LINE.lastIndex = cursor;
    const line = NAME_LINE.exec(text)?.[0];
    if (line === undefined) return undefined;
    name = line.trim();
    cursor += line.length;
  }
  if (!isToolName(name)) return undefined;
  cursor = context.skipSpace(cursor);
  const fenced = text.startsWith("```", cursor);
  if (fenced) cursor = context.skipSpace(matchAt(FENCE_OPEN, text, cursor) ?? cursor + 3);
  const args = context.reader.read(cursor);
  if (!args || !isRecord(args.value)) return undefined;
  let end = args.end;
  if (fenced) {
    const after = context.skipSpace(end);
    if (text.startsWith("```", after)) end = after + 3;
  }
  end = matchAt(CALL_END, text, context.skipSpace(end)) ?? end;
  return { call: { name, arguments: args.value }, end };
}
