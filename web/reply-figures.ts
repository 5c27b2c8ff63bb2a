import type { PersonaStats } from "../room/room-event.ts";

/** Characters of a tool call's arguments shown on its one line (as the terminal's `⚙` line shows them). */
export const ARGUMENTS_LINE = 100;

const plural = (count: number, one: string) => `${count} ${one}${count === 1 ? "" : "s"}`;

/**
 * `12 tokens · 48.0 tokens/s · 1.2 s`: what a finished reply cost. The rate only when the room measured one (it leaves
 * it 0 for a reply that streamed too briefly to mean anything, and the terminal then shows none either).
 */
export function statsLine(stats: Pick<PersonaStats, "completionTokens" | "tokensPerSecond" | "durationMs">): string {
  const seconds = stats.durationMs / 1000;
  const rate = stats.tokensPerSecond > 0 ? ` · ${stats.tokensPerSecond.toFixed(1)} tokens/s` : "";
  return `${plural(stats.completionTokens, "token")}${rate} · ${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
}

/** A tool call's arguments as one line (their JSON, cut at `max` with "…"), and whether anything was cut. */
export function argumentsLine(args: unknown, max = ARGUMENTS_LINE): { line: string; folded: boolean } {
  const json = JSON.stringify(args) ?? "null";
  return json.length > max ? { line: `${json.slice(0, max - 1)}…`, folded: true } : { line: json, folded: false };
}

/**
 * A tool call's whole arguments to read: each one named, a text as it was written (a shell script line by line, not
 * one JSON string of `\n`s), anything else as indented JSON.
 */
export function argumentsText(args: unknown): string {
  if (typeof args !== "object" || args === null || Array.isArray(args)) return JSON.stringify(args, null, 1) ?? "null";
  return Object.entries(args)
    .map(([name, value]) => (typeof value === "string" ? `${name}:\n${value}` : `${name}: ${JSON.stringify(value, null, 1)}`))
    .join("\n");
}
