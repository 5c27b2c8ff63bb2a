// gpt-oss "harmony" tool calls written into text:
//   <|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>
// The recipient may also stand before the channel: `<|start|>assistant to=functions.x<|channel|>commentary json<|message|>`.
import { isRecord, isToolName } from "./call-shape.ts";
import type { Format } from "./scan-context.ts";

const HEADER = new RegExp(
  String.raw`(?:<\|start\|>assistant)?[ \t]*(?:to=functions\.([A-Za-z0-9_.:-]{1,128})[ \t]*)?<\|channel\|` +
    String.raw`>commentary[ \t]*(?:to=functions\.([A-Za-z0-9_.:-]{1,128}))?`,
  "y",
);
const MESSAGE = "<|message|>";
const CALL_END = "<|call|>";

export const harmony: Format = {
  name: "harmony",
  trigger: String.raw`<\|start\|>assistant|<\|channel\|>commentary`,
  read(context, at) {
    const text = context.text;
    HEADER.lastIndex = at;
    const header = HEADER.exec(text);
    const name = header?.[1] ?? header?.[2];
    if (!header || !isToolName(name)) return undefined;
    const headerEnd = at + header[0].length;
    const message = text.slice(headerEnd, headerEnd + 64).indexOf(MESSAGE);
    if (message < 0) return undefined;
    const args = context.reader.read(context.skipSpace(headerEnd + message + MESSAGE.length));
    if (!args || !isRecord(args.value)) return undefined;
    const after = context.skipSpace(args.end);
    return { start: at, end: text.startsWith(CALL_END, after) ? after + CALL_END.length : args.end, calls: [{ name, arguments: args.value }] };
  },
};
