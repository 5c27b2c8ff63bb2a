import type { PersonaStats, TurnSummary } from "../room/room-event.ts";

/** A turn's token counts, summed over its personas, in OpenAI's `usage` shape. */
export function openAiUsage(stats: Record<string, PersonaStats>): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const prompt = Object.values(stats).reduce((sum, entry) => sum + entry.promptTokens, 0);
  const completion = Object.values(stats).reduce((sum, entry) => sum + entry.completionTokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Why a turn gave no answer: its errors, each with its persona, in one line ("" when there were none). */
export function turnErrorsLine(summary: Pick<TurnSummary, "errors">): string {
  return summary.errors.map((error) => `${error.persona ? `${error.persona}: ` : ""}${error.message}`).join("; ");
}
