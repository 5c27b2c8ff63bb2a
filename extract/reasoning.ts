// Thinking written into the text: `<think>…</think>` (Qwen3, DeepSeek-R1, QwQ), `<seed:think>` (Seed-OSS),
// gpt-oss's analysis channel. A closing tag with no opening before it means the template opened the
// thought in the prompt: everything before it is reasoning. An opening tag never closed runs to the end.
const BLOCKS = [
  { open: "<think>", close: "</think>" },
  { open: "<seed:think>", close: "</seed:think>" },
  { open: "<|channel|>analysis<|message|>", close: "<|end|>" },
];
const OPENING = /<think>|<seed:think>|<\|channel\|>analysis<\|message\|>/g;

/** Splits text into what is outside thinking (verbatim) and the thoughts (trimmed, empty ones dropped). */
export function splitReasoning(text: string): { content: string; reasoning: string[] } {
  const reasoning: string[] = [];
  let content = "";
  let firstBlockAt: number | undefined;
  let at = 0;
  const firstOpen = firstOpening(text, 0);
  for (const { close } of BLOCKS.slice(0, 2)) {
    const end = text.indexOf(close);
    if (end >= 0 && (firstOpen === undefined || end < firstOpen.index)) {
      reasoning.push(text.slice(0, end));
      firstBlockAt = 0;
      at = end + close.length;
      break;
    }
  }
  while (at < text.length) {
    const opening = firstOpening(text, at);
    if (!opening) break;
    content += text.slice(at, opening.index);
    firstBlockAt ??= content.length;
    const close = BLOCKS.find((block) => block.open === opening.tag)?.close ?? "";
    const inner = opening.index + opening.tag.length;
    const end = text.indexOf(close, inner);
    reasoning.push(text.slice(inner, end < 0 ? text.length : end));
    at = end < 0 ? text.length : end + close.length;
  }
  content += text.slice(at);
  // Whitespace around a leading thought (`<think>…</think>\n\n`) is layout, not content.
  if (firstBlockAt !== undefined && content.slice(0, firstBlockAt).trim() === "") content = content.trimStart();
  return { content, reasoning: reasoning.map((thought) => thought.trim()).filter((thought) => thought !== "") };
}

function firstOpening(text: string, from: number): { index: number; tag: string } | undefined {
  OPENING.lastIndex = from;
  const match = OPENING.exec(text);
  return match ? { index: match.index, tag: match[0] } : undefined;
}
