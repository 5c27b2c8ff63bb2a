// Phi-4-mini and FireFunction v2: `functools[{"name": …, "arguments": {…}}, …]`.
import { readCallSequence } from "./call-sequence.ts";
import type { Format } from "./scan-context.ts";

const MARKER = "functools";

export const functools: Format = {
  name: "functools",
  trigger: String.raw`functools\[`,
  read(context, at) {
    const body = readCallSequence(context, at + MARKER.length);
    return body && { start: at, end: body.end, calls: body.calls };
  },
};
