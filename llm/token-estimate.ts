import type { ChatMessage, ToolDefinition } from "./chat-types.ts";

/** Characters per token before a model's completions say otherwise: about four for English text and code. */
export const DEFAULT_CHARS_PER_TOKEN = 4;
/** What a chat template adds around each message (role markers, separators), in tokens. */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** What a template adds around the tools block as a whole, in tokens. */
const TOOLS_OVERHEAD_TOKENS = 8;
/** A calibrated ratio stays within these: a server's odd count (a cached prefix, a bug) never makes the estimate absurd. */
const MIN_CHARS_PER_TOKEN = 1.5;
const MAX_CHARS_PER_TOKEN = 8;
/** How far one completion's count moves the ratio: smoothed, so one odd count moves it little. */
const SMOOTHING = 0.3;
/** A prompt shorter than this says little about the ratio (the overheads dominate): it does not calibrate. */
const MIN_CALIBRATION_CHARS = 400;

/** What a prompt is made of, as the estimate counts it: its characters and how many messages carry them. */
export type PromptSize = { chars: number; messages: number; toolChars: number };

/** The characters of one message as a model's template reads them: its text, its name and its calls' arguments. */
export function messageChars(message: ChatMessage): number {
  let chars = message.content?.length ?? 0;
  if ("name" in message && message.name) chars += message.name.length;
  if (message.role === "assistant" && message.tool_calls)
    for (const call of message.tool_calls) chars += call.function.name.length + call.function.arguments.length;
  return chars;
}

/** The characters the tools take as the model sees them: their JSON (name, description, schema). */
export function toolChars(tools: readonly ToolDefinition[]): number {
  let chars = 0;
  for (const tool of tools) chars += JSON.stringify(tool).length;
  return chars;
}

/** The size of a whole prompt: its messages and its tools. */
export function promptSize(messages: readonly ChatMessage[], tools: readonly ToolDefinition[] = []): PromptSize {
  let chars = 0;
  for (const message of messages) chars += messageChars(message);
  return { chars, messages: messages.length, toolChars: toolChars(tools) };
}

/**
 * A token count per model without its tokenizer: characters over a ratio per model id, plus each message's template
 * overhead. The ratio starts at about four and moves toward what each completion's reported `prompt_tokens` says
 * (bounded, smoothed). Made where a room is assembled and handed down: two rooms never share one.
 */
export class TokenEstimator {
  readonly #ratios = new Map<string, number>();

  /** The characters per token used for `modelId` now. */
  charsPerToken(modelId: string): number {
    return this.#ratios.get(modelId) ?? DEFAULT_CHARS_PER_TOKEN;
  }

  /** Tokens of `chars` characters of text for `modelId` (no overhead). */
  textTokens(modelId: string, chars: number): number {
    return chars === 0 ? 0 : Math.ceil(chars / this.charsPerToken(modelId));
  }

  /** Tokens of one message of `chars` characters, its template's overhead included. */
  messageTokens(modelId: string, chars: number): number {
    return this.textTokens(modelId, chars) + MESSAGE_OVERHEAD_TOKENS;
  }

  /** Tokens the tools take (nothing when none are offered). */
  toolsTokens(modelId: string, chars: number): number {
    return chars === 0 ? 0 : this.textTokens(modelId, chars) + TOOLS_OVERHEAD_TOKENS;
  }

  /** Tokens of these messages and tools, message by message as a template counts them: what the prompt's parts add up to. */
  messagesTokens(modelId: string, messages: readonly ChatMessage[], toolChars = 0): number {
    let tokens = this.toolsTokens(modelId, toolChars);
    for (const message of messages) tokens += this.messageTokens(modelId, messageChars(message));
    return tokens;
  }

  /** Tokens of a whole prompt of this size (its characters counted together: a little under `messagesTokens`). */
  promptTokens(modelId: string, size: PromptSize): number {
    return this.textTokens(modelId, size.chars) + size.messages * MESSAGE_OVERHEAD_TOKENS + this.toolsTokens(modelId, size.toolChars);
  }

  /**
   * Takes what the server counted for a prompt of this size (`prompt_tokens`) and moves the model's ratio toward it.
   * A count that leaves no room for the text (under the overheads) or a prompt too short to say anything is ignored.
   */
  calibrate(modelId: string, size: PromptSize, reportedTokens: number): void {
    const chars = size.chars + size.toolChars;
    if (!Number.isFinite(reportedTokens) || chars < MIN_CALIBRATION_CHARS) return;
    const overhead = size.messages * MESSAGE_OVERHEAD_TOKENS + (size.toolChars > 0 ? TOOLS_OVERHEAD_TOKENS : 0);
    const textTokens = reportedTokens - overhead;
    if (textTokens <= 0) return;
    const observed = Math.min(MAX_CHARS_PER_TOKEN, Math.max(MIN_CHARS_PER_TOKEN, chars / textTokens));
    const current = this.charsPerToken(modelId);
    this.#ratios.set(modelId, current + SMOOTHING * (observed - current));
  }
}
