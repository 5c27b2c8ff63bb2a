import { z } from "zod";

/** Where a window's size came from: a server that said it, the persona's `contextTokens`, or org's stated default. */
export const WindowSource = z.enum(["ollama", "llama.cpp", "vllm", "lm-studio", "anthropic", "config", "default"]);
export type WindowSource = z.infer<typeof WindowSource>;

/**
 * How many tokens one request to a model may hold, prompt and reply together, and where org learnt it (`detail`
 * says it as a person reads it: "num_ctx 4096 from /api/show parameters"). `trainedTokens` is the length the
 * model was trained for, when the server says it (Ollama's `<arch>.context_length`, LM Studio's
 * `max_context_length`): the most a window can be raised to.
 */
export type ModelWindow = { tokens: number; source: WindowSource; detail: string; trainedTokens?: number };

/** The window org assumes when neither the server nor the config says one: Ollama's default on most machines. */
export const DEFAULT_WINDOW_TOKENS = 4096;

/**
 * A window size as a setting or a server may state it: a whole number of tokens from 256 (smaller leaves no room
 * for org's system prompt) to 10 million (the largest windows models ship with). A server's value outside is ignored.
 */
export const WindowTokens = z.int().min(256).max(10_000_000);

/** The window when no server says one: the persona's `contextTokens` when set, else the stated default. */
export function fallbackWindow(contextTokens: number | undefined): ModelWindow {
  return contextTokens !== undefined
    ? { tokens: contextTokens, source: "config", detail: `contextTokens ${contextTokens} in org.config.json` }
    : {
        tokens: DEFAULT_WINDOW_TOKENS,
        source: "default",
        detail: `org's default of ${DEFAULT_WINDOW_TOKENS} tokens: the server did not say its window; set contextTokens on the persona`,
      };
}

/** `4096 tokens (llama.cpp: n_ctx 4096 from /props)`: a window as `org doctor` and `/models` show it. */
export function describeWindow(window: { tokens: number; source: string; detail?: string | undefined; trainedTokens?: number | undefined }): string {
  const trained = window.trainedTokens !== undefined && window.trainedTokens !== window.tokens ? `, trained for ${window.trainedTokens}` : "";
  return `${window.tokens} tokens (${window.source}${window.detail ? `: ${window.detail}` : ""}${trained})`;
}

/** Claude models' window (200 000 tokens), which Anthropic's API does not report. */
export const ANTHROPIC_WINDOW_TOKENS = 200_000;

/** The window of a model on Anthropic's API: the persona's `contextTokens` when set, else Claude's stated window. */
export function anthropicWindow(contextTokens: number | undefined): ModelWindow {
  return contextTokens !== undefined
    ? fallbackWindow(contextTokens)
    : {
        tokens: ANTHROPIC_WINDOW_TOKENS,
        source: "anthropic",
        detail: `Claude models' ${ANTHROPIC_WINDOW_TOKENS} tokens; set contextTokens on the persona for another`,
      };
}
