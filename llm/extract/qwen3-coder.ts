// Qwen3-Coder XML without the `<tool_call>` wrapper (it leaks that way through Ollama 0.32.5), and
// Functionary v3.1 `<function=name>{…}</function>`.
import type { Format } from "./scan-context.ts";
import { readXmlFunction } from "./xml-function.ts";

export const qwen3Coder: Format = {
  name: "qwen3-coder",
  trigger: String.raw`<function(?:=|\s+name\s*=)`,
  read(context, at) {
    const item = readXmlFunction(context, at);
    return item && { start: at, end: item.end, calls: item.calls };
  },
};
