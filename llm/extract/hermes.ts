// Hermes / Qwen2.5 / Qwen3 `<tool_call>{…}</tool_call>`, Qwen2.5-Coder `<tools>`, Qwen3-Coder XML inside
// `<tool_call>`, and the wrapper variants llama.cpp accepts (`<tool>`, `<response>`, `<json>`, `<xml>`,
// `<function_call>`). The body may be a Python dict with single quotes, or carry its arguments as a string.
import { readWrapperTag } from "./call-sequence.ts";
import type { Format } from "./scan-context.ts";

export const hermes: Format = {
  name: "hermes",
  trigger: `<(?:tool_calls?|tools?|function_calls?|response|json|xml|seed:tool_call)>`,
  read(context, at) {
    const item = readWrapperTag(context, at);
    return item && { start: at, end: item.end, calls: item.calls };
  },
};
