import type { ToolDefinition } from "../llm/chat-types.ts";
import { ContextOverflowError } from "../personas/context-overflow.ts";
import type { Persona } from "../personas/persona.ts";
import type { ContextWindow, PromptParts } from "../personas/prompt-assembly.ts";
import type { PromptKeeping } from "../personas/reply-host.ts";
import type { RoomMessage } from "../personas/room-message.ts";
import { formatTokens } from "./compaction-line.ts";

/** What a persona's next prompt holds, part by part, in tokens (`/context`). */
export type ContextReport = {
  persona: string;
  model: string;
  window: ContextWindow;
  parts: PromptParts;
  /** The summary the prompt holds: how many earlier messages it covers. */
  summaryMessages: number;
  /** Heard messages left out that no summary covers yet. */
  fellOut: number;
  /** Set when the newest message does not fit: the error the next reply would fail with. */
  overflow?: string;
};

/** The prompt `persona` would send next over `history` with `tools`, as a report (nothing is sent). */
export async function contextReport(
  persona: Persona,
  request: {
    history: readonly RoomMessage[];
    roomPersonas: readonly string[];
    keeping: PromptKeeping;
    tools: readonly ToolDefinition[];
    signal?: AbortSignal;
  },
): Promise<ContextReport> {
  const window = await persona.languageModel.window(request.signal);
  const host = {
    history: request.history.filter((message) => message.undone === undefined),
    roomPersonas: request.roomPersonas,
    prompt: request.keeping,
  };
  const base = { persona: persona.name, model: persona.modelId, window, summaryMessages: request.keeping.summary?.messages ?? 0 };
  try {
    const prompt = persona.prompt(host, window, request.tools);
    return { ...base, parts: prompt.parts, summaryMessages: prompt.parts.summary > 0 ? base.summaryMessages : 0, fellOut: prompt.fellOut };
  } catch (error) {
    if (!(error instanceof ContextOverflowError)) throw error;
    const { reserve, system, tools, newest } = error.parts;
    const parts = { window, reserve, system, tools, summary: 0, messages: { count: 0, tokens: 0 }, newest, total: system + tools };
    return { ...base, parts, fellOut: 0, overflow: error.message };
  }
}

/** The report as lines for a terminal or a page. */
export function formatContextReport(report: ContextReport): string[] {
  const { parts, window } = report;
  const free = window.tokens - parts.total - parts.reserve;
  return [
    `${report.persona} (${report.model}): next prompt ${formatTokens(parts.total)} of a ${formatTokens(window.tokens)}-token window ` +
      `(${window.detail ?? window.source})`,
    `  system prompt   ${formatTokens(parts.system)}`,
    `  tools           ${formatTokens(parts.tools)}`,
    `  summary         ${parts.summary > 0 ? `${formatTokens(parts.summary)} (${report.summaryMessages} earlier messages)` : "none"}`,
    `  messages        ${formatTokens(parts.messages.tokens)} (${parts.messages.count} newest heard)`,
    `  reply reserve   ${formatTokens(parts.reserve)}`,
    `  free            ${formatTokens(Math.max(0, free))}`,
    ...(report.fellOut > 0 ? [`  left out        ${report.fellOut} earlier messages, not yet summarised (/compact summarises them now)`] : []),
    ...(report.overflow ? [`  does not fit: ${report.overflow}`] : []),
  ];
}
