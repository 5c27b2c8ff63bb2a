// Granite 3.0 `<|tool_call|>[{…}, …]` (no closing marker; Granite writes arguments before the name).
import { readCallSequence } from "./call-sequence.ts";
import type { Format } from "./scan-context.ts";

const MARKER = "<|tool_call|>";

export const granite: Format = {
  name: "granite",
  trigger: String.raw`<\|tool_call\|>`,
  read(context, at) {
    const body = readCallSequence(context, at + MARKER.length);
    return body && { start: at, end: body.end, calls: body.calls };
  },
};
