// Mistral `[TOOL_CALLS]`. Before the v11 tokenizer a JSON array follows the marker:
//   [TOOL_CALLS] [{"name": "add", "arguments": {"a": 3.5, "b": 4}}]
// From v11 on (Mistral Small 3.2, Magistral, Devstral) each call is name then arguments, the marker repeated:
//   [TOOL_CALLS]add{"a": 3.5, "b": 4}[TOOL_CALLS]multiply[ARGS]{"a": 3, "b": 6}
import { isRecord, isToolName } from "./call-shape.ts";
import { readCallSequence } from "./call-sequence.ts";
import type { Format } from "./scan-context.ts";

const MARKER = "[TOOL_CALLS]";
const NAMED_CALL = /[ \t]*([A-Za-z0-9_.:-]{1,128})(?:\[CALL_ID\][A-Za-z0-9_-]{0,64})?(?:\[ARGS\])?[ \t]*/y;

export const mistral: Format = {
  name: "mistral",
  trigger: String.raw`\[TOOL_CALLS\]`,
  read(context, at) {
    const text = context.text;
    const after = at + MARKER.length;
    const first = text[context.skipSpace(after)];
    if (first === "[" || first === "{") {
      const body = readCallSequence(context, after);
      return body && { start: at, end: body.end, calls: body.calls };
    }
    NAMED_CALL.lastIndex = after;
    const named = NAMED_CALL.exec(text);
    const name = named?.[1];
    if (!named || !isToolName(name)) return undefined;
    const args = context.reader.read(after + named[0].length);
    if (!args || !isRecord(args.value)) return undefined;
    return { start: at, end: args.end, calls: [{ name, arguments: args.value }] };
  },
};
