import { ChatError } from "../llm/chat-errors.ts";
import type { ContextWindow } from "./prompt-assembly.ts";

/** What took a window that the newest message did not fit: each part in tokens. */
export type OverflowParts = { persona: string; window: ContextWindow; reserve: number; system: number; tools: number; newest: number };

/**
 * The system prompt, the tools, the reply's reserve and the newest message do not fit the persona's window: nothing is
 * sent (a server would drop the start silently, or refuse). The message names the window, what took it, and what to change.
 */
export class ContextOverflowError extends ChatError {
  override name = "ContextOverflowError";
  readonly parts: OverflowParts;

  constructor(parts: OverflowParts, serverMessage?: string) {
    const { persona, window, reserve, system, tools, newest } = parts;
    const needed = reserve + system + tools + newest;
    super(
      "context_overflow",
      `${persona}'s prompt does not fit its model's window of ${window.tokens} tokens (${window.source}): ` +
        `system prompt ${system}, tools ${tools}, the newest message ${newest}, reserve for the reply ${reserve} ` +
        `(${needed} in all)${serverMessage ? `; the server said: ${serverMessage}` : ""}. ` +
        `Shorten the message, offer ${persona} fewer tools (personas[].tools), lower compaction.reserveTokens, ` +
        `or give the model a larger window (personas[].contextTokens in org.config.json, or the server's context size).`,
      serverMessage !== undefined ? { serverMessage } : {},
    );
    this.parts = parts;
  }
}

/** What servers say when a prompt exceeds their window (llama.cpp's server, vLLM, OpenAI-compatible proxies). */
const SERVER_OVERFLOW = /context (?:length|size|window)|maximum context|exceed_context_size|too many tokens|prompt is too long/i;

/** Whether a failed completion is the server refusing a prompt longer than its window (HTTP 400 and what it said). */
export function isServerOverflow(error: unknown): error is ChatError {
  if (!(error instanceof ChatError) || error instanceof ContextOverflowError) return false;
  if (error.kind === "context_overflow") return true;
  return error.kind === "http" && error.status === 400 && SERVER_OVERFLOW.test(error.serverMessage ?? error.message);
}
