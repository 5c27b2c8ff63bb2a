// Llama 3.x `<|python_tag|>` (JSON calls, `;`-separated, or `python.call(code="…")`) and Llama 4
// `<|python_start|>[f(a=1)]<|python_end|>`. Raw code after the tag is not a call.
import { readCallSequence } from "./call-sequence.ts";
import type { Format } from "./scan-context.ts";

const START = /<\|python_(?:tag|start)\|>/y;
const ENDS = ["<|python_end|>", "<|eom_id|>", "<|eot_id|>"];

export const pythonTag: Format = {
  name: "python-tag",
  trigger: String.raw`<\|python_(?:tag|start)\|>`,
  read(context, at) {
    START.lastIndex = at;
    const marker = START.exec(context.text)?.[0];
    if (marker === undefined) return undefined;
    const body = readCallSequence(context, at + marker.length);
    if (!body) return undefined;
    const after = context.skipSpace(body.end);
    const endMarker = ENDS.find((end) => context.text.startsWith(end, after));
    return { start: at, end: endMarker ? after + endMarker.length : body.end, calls: body.calls };
  },
};
