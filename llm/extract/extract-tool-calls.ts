import { bareJson } from "./bare-json.ts";
import { isDeclared } from "./call-shape.ts";
import { deepseek } from "./deepseek.ts";
import { fenced } from "./fenced.ts";
import { functionary } from "./functionary.ts";
import { functools } from "./functools.ts";
import { granite } from "./granite.ts";
import { harmony } from "./harmony.ts";
import { hermes } from "./hermes.ts";
import { mistral } from "./mistral.ts";
import { pythonTag } from "./python-tag.ts";
import { pythonicList } from "./pythonic.ts";
import { qwen3Coder } from "./qwen3-coder.ts";
import { thinking } from "./thinking.ts";
import { type Block, type Format, ScanContext } from "./scan-context.ts";

export type ExtractedToolCall = { name: string; arguments: Record<string, unknown> };

// How the text is read (each rule is pinned by a test beside this file):
// - One left-to-right scan. At each marker, its format reads a whole block: calls, a thought, or something
//   to keep whole as text (a code fence in another language, a JSON value that is not a call). A marker
//   whose block does not parse stays text and the scan moves on by one character.
// - With `toolNames`, a block counts only if every call in it names a declared tool; otherwise all of it
//   stays text, word for word.
// - Everything outside calls and thoughts is content as written, except that separators between two calls
//   (whitespace, `;`, `,`), whitespace around a leading thought, and content that is only whitespace next
//   to calls are dropped.

// Earlier formats win when two could start at the same position.
const FORMATS: Format[] = [
  thinking,
  fenced,
  deepseek,
  harmony,
  mistral,
  granite,
  pythonTag,
  hermes,
  qwen3Coder,
  functools,
  functionary,
  pythonicList,
  bareJson,
];
const TRIGGER = new RegExp(FORMATS.map((format) => `(${format.trigger})`).join("|"), "gi");
// What may stand between two calls without being content: Llama's `;` separators, newlines.
const SEPARATOR_ONLY = /^[\s;,]*$/;

/**
 * Finds the tool calls a model wrote into its text (when native tool calling failed), in the formats of
 * Hermes/Qwen, Qwen3-Coder, Mistral, Llama, Granite, Phi-4, DeepSeek, gpt-oss, Functionary, fenced or bare
 * JSON. Thinking moves to `reasoning`; calls inside thinking are not calls. With `toolNames`, a block that
 * calls anything else is left as text. Everything that is not a call stays in `content` as written.
 */
export function extractToolCalls(
  text: string,
  options: { toolNames?: readonly string[] } = {},
): { content: string; reasoning: string; toolCalls: ExtractedToolCall[] } {
  try {
    return extract(text, options.toolNames ? new Set(options.toolNames) : undefined);
  } catch {
    // Unreachable by design (the readers never throw); a bug here must not cost the user the reply.
    return { content: text, reasoning: "", toolCalls: [] };
  }
}

function extract(text: string, toolNames: ReadonlySet<string> | undefined) {
  const toolCalls: ExtractedToolCall[] = [];
  const thoughts: string[] = [];
  let content = "";
  let contentBeforeFirstThought: number | undefined;
  let at = 0;
  let previous: Block | undefined;
  for (const block of findBlocks(new ScanContext(text, toolNames))) {
    const gap = text.slice(at, block.start);
    const betweenCalls = previous !== undefined && previous.calls.length > 0 && block.calls.length > 0 && SEPARATOR_ONLY.test(gap);
    if (!betweenCalls) content += gap;
    if (block.thought !== undefined) {
      contentBeforeFirstThought ??= content.length;
      const thought = block.thought.trim();
      if (thought !== "") thoughts.push(thought);
    }
    for (const call of block.calls) toolCalls.push(call);
    at = block.end;
    previous = block;
  }
  content += text.slice(at);
  // Whitespace around a leading thought (`<think>…</think>\n\n`) is layout, not content.
  if (contentBeforeFirstThought !== undefined && !/\S/.test(content.slice(0, contentBeforeFirstThought))) content = content.trimStart();
  if (toolCalls.length > 0 && !/\S/.test(content)) content = "";
  return { content, reasoning: thoughts.join("\n"), toolCalls };
}

/** The stretches of `text` that hold calls, in the order `extractToolCalls` returns their calls. */
export function findToolCallBlocks(
  text: string,
  options: { toolNames?: readonly string[] } = {},
): { start: number; end: number; calls: ExtractedToolCall[] }[] {
  try {
    return findBlocks(new ScanContext(text, options.toolNames ? new Set(options.toolNames) : undefined))
      .filter((block) => block.calls.length > 0)
      .map(({ start, end, calls }) => ({ start, end, calls }));
  } catch {
    return [];
  }
}

/**
 * Where each stretch starts that the scan reads as calls (of any tool, quoted in backticks or not) or as a
 * thought, whatever tools a request declares: the markers `neutralize` breaks so that quoted text never becomes a call.
 */
export function findCallMarkers(text: string): { starts: number[]; exhausted: boolean } {
  // Any name counts as declared: `<tool>{"sh": {…}}</tool>` is a call for a request that declares sh.
  const context = new ScanContext(text, "any");
  const starts: number[] = [];
  for (const { marker, block } of blocksOf(context))
    if (block.calls.length > 0 || block.thought !== undefined || block.strayClose) starts.push(marker);
  return { starts, exhausted: context.reader.exhausted };
}

/** Each block a marker of the text opens, with where its marker stands, in order; a marker that opens none is passed over. */
function* blocksOf(context: ScanContext): Generator<{ marker: number; block: Block }> {
  const { text } = context;
  let at = 0;
  while (at < text.length && !context.reader.exhausted) {
    TRIGGER.lastIndex = at;
    const match = TRIGGER.exec(text);
    if (!match) return;
    const format = FORMATS[match.findIndex((group, index) => index > 0 && group !== undefined) - 1];
    const block = format?.read(context, match.index);
    if (!block || block.end <= match.index) {
      at = match.index + 1;
      continue;
    }
    at = block.end;
    yield { marker: match.index, block };
  }
}

/** The calls and thoughts of the text, in order; what lies between them is content. */
function findBlocks(context: ScanContext): Block[] {
  const { text, toolNames } = context;
  let blocks: Block[] = [];
  let thought = false;
  for (const { block } of blocksOf(context)) {
    if (block.strayClose) {
      // `…</think>` before any thought: everything so far was thinking, calls in it included.
      if (!thought) blocks = [{ start: 0, end: block.end, calls: [], thought: text.slice(0, block.start) }];
      thought = true;
      continue;
    }
    if (block.thought !== undefined) {
      thought = true;
      blocks.push(block);
      continue;
    }
    const known = !toolNames || block.calls.every((call) => isDeclared(toolNames, call.name));
    // `{"name": "sh", "arguments": {…}}` between single backticks is an example in prose, not a call.
    const quoted = text[block.start - 1] === "`" && text[block.end] === "`";
    if (block.calls.length > 0 && known && !quoted) blocks.push(block);
  }
  return blocks;
}
