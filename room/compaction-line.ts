// Imports nothing: the web page's bundle shows the compaction event with it, as the terminal does.

/** Tokens as a person reads them: 812, 1.1 k, 32 k. */
export function formatTokens(tokens: number): string {
  if (tokens < 1000) return String(tokens);
  return tokens < 10_000 ? `${(tokens / 1000).toFixed(1)} k` : `${Math.round(tokens / 1000)} k`;
}

/** The room event's line: "compacted 48 messages into a summary, 1.1 k tokens". */
export function describeCompaction(event: { persona: string; messages: number; tokens: number; dropped: number }): string {
  const dropped = event.dropped > 0 ? `; ${event.dropped} unsupported line${event.dropped === 1 ? "" : "s"} left out` : "";
  const messages = `${event.messages} message${event.messages === 1 ? "" : "s"}`;
  return `${event.persona}: compacted ${messages} into a summary, ${formatTokens(event.tokens)} tokens${dropped}`;
}
