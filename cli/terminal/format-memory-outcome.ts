import type { MemorySearchOutcome } from "../../memory/search-memory.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";

/** One line of stored text for the terminal: no controls, no line breaks, at most `max` characters. */
export function terminalLine(text: string, max: number): string {
  const flat = sanitizeForTerminal(text.replace(/[\r\n\t]+/g, " ").trim());
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The human-readable search result: what was used, then one record per line (`/recall` prints it too). */
export function formatMemoryOutcome(outcome: MemorySearchOutcome): string {
  const lines = [
    `searched memory with ${outcome.method === "fts+embeddings" ? "full-text (BM25) + embeddings, fused by reciprocal rank" : "full-text (BM25)"}`,
  ];
  if (outcome.note) lines.push(terminalLine(outcome.note, 300));
  if (outcome.hits.length === 0) lines.push("nothing in memory matches; try other words");
  for (const [index, hit] of outcome.hits.entries()) {
    const where = hit.factId ? `fact ${hit.factId}` : `session ${hit.sessionId ?? "?"}`;
    lines.push(
      `${String(index + 1).padStart(2)}. ${hit.time.slice(0, 19).replace("T", " ")}  ` +
        `${terminalLine(where, 60)}  ${terminalLine(hit.persona, 24)} (${hit.kind})`,
    );
    lines.push(`    ${terminalLine(hit.snippet, 300)}`);
  }
  return lines.join("\n");
}
