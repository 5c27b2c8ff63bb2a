import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { isTokenCount } from "../llm/token-count.ts";
import { readTranscript } from "./transcript.ts";

/** 00:00 UTC of the day of `at`: where a day's use (`limits.tokensPerDay`, `/budget`) counts from. */
export function utcDayStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

/** Tokens every session of `sessionsDir` used on the UTC day of `at`. */
export function tokensOnDay(sessionsDir: string, at: Date): number {
  const start = utcDayStart(at);
  return tokensSince(sessionsDir, start, new Date(start.getTime() + 86_400_000));
}

/** A reply's tokens as its `reply-end` line says them; a count no server sends (negative, not finite) is 0, never a credit. */
function replyTokens(stats: { promptTokens: number; completionTokens: number }): number {
  return (isTokenCount(stats.promptTokens) ? stats.promptTokens : 0) + (isTokenCount(stats.completionTokens) ? stats.completionTokens : 0);
}

/**
 * Tokens a transcript's replies used (their `reply-end` stats), those in [`since`, `until`) only when given: a line
 * dated past `until` (planted, or a clock set wrong) is no use of that day.
 */
export function transcriptTokens(path: string, since?: Date, until?: Date): number {
  let used = 0;
  const from = since?.toISOString();
  const to = until?.toISOString();
  for (const line of readTranscript(path).lines) {
    if (line.type !== "reply-end" || (from !== undefined && line.time < from) || (to !== undefined && line.time >= to)) continue;
    used += replyTokens(line.stats);
  }
  return used;
}

/**
 * Tokens every session of `sessionsDir` used since `since`, before `until` when given (a day's use: transcripts untouched
 * since are not read).
 */
export function tokensSince(sessionsDir: string, since: Date, until?: Date): number {
  let used = 0;
  let names: string[];
  try {
    names = readdirSync(sessionsDir).filter((name) => name.endsWith(".jsonl"));
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(sessionsDir, name);
    try {
      const stat = statSync(path);
      if (!stat.isFile() || stat.mtimeMs < since.getTime()) continue;
      used += transcriptTokens(path, since, until);
    } catch {
      // A transcript gone or unreadable meanwhile counts nothing.
    }
  }
  return used;
}
