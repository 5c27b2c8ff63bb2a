// Calls written as plain JSON in the text (Llama 3.x, qwen2.5-coder through Ollama, xLAM):
//   {"name": "search", "parameters": {"q": "x"}}; {"name": …}     [{"name": …}, …]     {"tool_calls": [...]}
// Without a marker the object must say `arguments` or `parameters`. A JSON value that is not a call is
// skipped whole: a call nested inside other data is not a call.
import { callsFromValue } from "./call-shape.ts";
import type { Format } from "./scan-context.ts";

export const bareJson: Format = {
  name: "bare-json",
  trigger: String.raw`\{\s*["']|\[\s*\{`,
  read(context, at) {
    const read = context.reader.read(at);
    if (!read) return undefined;
    const calls = callsFromValue(read.value, { explicit: false }) ?? [];
    return { start: at, end: read.end, calls };
  },
};
