import { bareJson } from "./extract/bare-json.ts";
import { deepseek } from "./extract/deepseek.ts";
import { fenced } from "./extract/fenced.ts";
import { functionary } from "./extract/functionary.ts";
import { functools } from "./extract/functools.ts";
import { granite } from "./extract/granite.ts";
import { harmony } from "./extract/harmony.ts";
import { hermes } from "./extract/hermes.ts";
import { mistral } from "./extract/mistral.ts";
import { pythonTag } from "./extract/python-tag.ts";
import { pythonicList } from "./extract/pythonic.ts";
import { qwen3Coder } from "./extract/qwen3-coder.ts";
import { splitReasoning } from "./extract/reasoning.ts";
import { type Block, type Format, ScanContext } from "./extract/scan-context.ts";

export type ExtractedToolCall = { name: string; arguments: Record<string, unknown> };

// Earlier formats win when two could start at the same position.
const FORMATS: Format[] = [fenced, deepseek, harmony, mistral, granite, pythonTag, hermes, qwen3Coder, functools, functionary, pythonicList, bareJson];
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
  const { content: visible, reasoning } = splitReasoning(text);
  const blocks = findCallBlocks(new ScanContext(visible, toolNames));
  const toolCalls: ExtractedToolCall[] = [];
  let content = "";
  let at = 0;
  for (const block of blocks) {
    const gap = visible.slice(at, block.start);
    if (toolCalls.length === 0 || !SEPARATOR_ONLY.test(gap)) content += gap;
    toolCalls.push(...block.calls);
    at = block.end;
  }
  content += visible.slice(at);
  if (toolCalls.length > 0 && !/\S/.test(content)) content = "";
  return { content, reasoning: reasoning.join("\n"), toolCalls };
}

function findCallBlocks(context: ScanContext): Block[] {
  const { text, toolNames } = context;
  const blocks: Block[] = [];
  let at = 0;
  while (at < text.length && !context.reader.exhausted) {
    TRIGGER.lastIndex = at;
    const match = TRIGGER.exec(text);
    if (!match) break;
    const format = FORMATS[match.findIndex((group, index) => index > 0 && group !== undefined) - 1];
    const block = format?.read(context, match.index);
    if (!block || block.end <= match.index) {
      at = match.index + 1;
      continue;
    }
    const known = !toolNames || block.calls.every((call) => toolNames.has(call.name));
    // `{"name": "sh", "arguments": {…}}` between single backticks is an example in prose, not a call.
    const quoted = text[block.start - 1] === "`" && text[block.end] === "`";
    if (block.calls.length > 0 && known && !quoted) blocks.push(block);
    at = block.end;
  }
  return blocks;
}
