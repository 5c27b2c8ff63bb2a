// Thinking written into the text: `<think>…</think>` (Qwen3, DeepSeek-R1, QwQ), `<seed:think>` (Seed-OSS),
// gpt-oss's analysis channel. It is one more format of the scanner, so a `<think>` inside a call's JSON
// string stays part of that call. An opening tag never closed runs to the end of the text.
import type { Format } from "./scan-context.ts";

const CLOSING: Record<string, string> = {
  "<think>": "</think>",
  "<seed:think>": "</seed:think>",
  "<|channel|>analysis<|message|>": "<|end|>",
};
const OPENING = /<think>|<seed:think>|<\|channel\|>analysis<\|message\|>/y;
const STRAY_CLOSE = /<\/think>|<\/seed:think>/y;

export const thinking: Format = {
  name: "thinking",
  trigger: String.raw`<\/?think>|<\/?seed:think>|<\|channel\|>analysis<\|message\|>`,
  read(context, at) {
    const text = context.text;
    OPENING.lastIndex = at;
    const open = OPENING.exec(text)?.[0];
    const closing = open === undefined ? undefined : CLOSING[open];
    if (open !== undefined && closing !== undefined) {
      const inner = at + open.length;
      const end = context.nextIndex(closing, inner);
      return end < 0
        ? { start: at, end: text.length, calls: [], thought: text.slice(inner) }
        : { start: at, end: end + closing.length, calls: [], thought: text.slice(inner, end) };
    }
    // A closing tag with no opening: the template opened the thought in the prompt. The scanner decides
    // whether that is so (nothing thought yet) and if so makes everything before it the thought.
    STRAY_CLOSE.lastIndex = at;
    const close = STRAY_CLOSE.exec(text)?.[0];
    return close === undefined ? undefined : { start: at, end: at + close.length, calls: [], thought: "", strayClose: true };
  },
};
