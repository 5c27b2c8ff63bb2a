import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { readTranscript } from "./transcript.ts";

/** 00:00 UTC of the day of `at`: where a day's use (`limits.tokensPerDay`, `/budget`) counts from. */
export function utcDayStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

/** Tokens a transcript's replies used (their `reply-end` stats), those since `since` only when given. */
export function transcriptTokens(path: string, since?: Date): number {
  let used = 0;
  const from = since?.toISOString();
  for (const line of readTranscript(path).lines) {
    if (line.type !== "reply-end" || (from !== undefined && line.time < from)) continue;
    used += line.stats.promptTokens + line.stats.completionTokens;
  }
  return used;
}

/** Tokens every session of `sessionsDir` used since `since` (a day's use: transcripts untouched since are not read). */
export function tokensSince(sessionsDir: string, since: Date): number {
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
      used += transcriptTokens(path, since);
    } catch {
      // A transcript gone or unreadable meanwhile counts nothing.
    }
  }
  return used;
}
