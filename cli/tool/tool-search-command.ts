import { resolve } from "node:path";
import type { Embedder } from "../../registry/ollama-embedder.ts";
import type { SearchOutcome } from "../../registry/tool-registry.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { UsageError } from "../command/command.ts";
import { REPO_DIR } from "../command/org-invocation.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";

const FLAGS = { limit: { type: "string" }, json: { type: "boolean" }, repo: { type: "string" } } as const;

/** One line of model-made text for the terminal: no controls, no line breaks, at most `max` characters. */
function terminalLine(text: string, max: number): string {
  const flat = sanitizeForTerminal(text.replace(/[\r\n\t]+/g, " ").trim());
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Why embeddings were not used, in a few words: an absent server is normal (no connection error shown). */
function shortNote(note: string): string {
  const absent = /no embedding server answered at (\S+?)\/api\/embed/.exec(note);
  if (absent) return `no embedding server at ${absent[1]} (set ORG_EMBED_BASE, or ORG_EMBED_MODEL=off)`;
  return terminalLine(note.replace(/^embeddings not used: /, "").replace(/\s*\([^)]*\)\s*$/, ""), 160);
}

/** Each hit's relevance as a share of the best hit's score, 0 to 1 (1 for the best; both scales are "higher is better"). */
export function relevanceOf(outcome: SearchOutcome): number[] {
  const top = outcome.hits[0]?.score ?? 0;
  return outcome.hits.map((hit) => (top > 0 ? Math.max(0, Math.min(1, hit.score / top)) : 1));
}

/** The human-readable search result: what was used, then one line per tool with its relevance next to the best. */
export function formatSearchOutcome(outcome: SearchOutcome, embedder: Embedder | undefined, counts: { promoted: number; candidate: number }): string {
  const used =
    outcome.method === "fts+embeddings"
      ? `full-text (BM25) + embeddings (${embedder?.label ?? "?"}), fused by reciprocal rank`
      : "full-text (BM25) only";
  const why = outcome.note ? `: ${shortNote(outcome.note)}` : "";
  const lines = [`searched ${counts.promoted} promoted and ${counts.candidate} candidate tools with ${used}${why}`];
  if (outcome.hits.length === 0) lines.push("no tool matches; try other words");
  const width = Math.max(...outcome.hits.map((hit) => hit.name.length), 4);
  const relevance = relevanceOf(outcome);
  for (const [index, hit] of outcome.hits.entries()) {
    const score = `${Math.round((relevance[index] ?? 0) * 100)}%`;
    const branch = hit.branch ? `  (${hit.branch})` : "";
    lines.push(
      `${String(index + 1).padStart(2)}. ${terminalLine(hit.name, 48).padEnd(width)}  ${score.padStart(4)}  ` +
        `${hit.origin.padEnd(9)}  ${terminalLine(hit.description, 100)}${branch}`,
    );
  }
  return lines.join("\n");
}

/** `org tool search "QUERY" [--limit N] [--json] [--repo DIR]`: the checkout is org's own unless --repo names another. */
export async function toolSearchCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseCommandArgs("tool search", args, FLAGS, { positionals: true });
  const [query] = positionals;
  if (positionals.length !== 1 || query === undefined || query.trim() === "") {
    throw new UsageError(`tool search takes one QUERY in quotes, e.g. tool search "count the words"`, "tool");
  }
  const limit = values.limit === undefined ? 10 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new UsageError(`--limit needs a whole number from 1 to 1000, got ${values.limit}`, "tool");
  // Loaded here, not at the top, so that `org tool list` and the other actions start without the registry.
  const [{ embedderFromEnvironment }, { ToolRegistry }] = await Promise.all([
    import("../../registry/ollama-embedder.ts"),
    import("../../registry/tool-registry.ts"),
  ]);
  const embedder = embedderFromEnvironment();
  const { registry, notices } = ToolRegistry.open(resolve(values.repo ?? REPO_DIR));
  try {
    const summary = await registry.refresh(signal);
    for (const notice of [...notices, ...summary.notices]) process.stderr.write(`org: registry: ${terminalLine(notice, 400)}\n`);
    const outcome = await registry.search(query, { limit, signal, ...(embedder ? { embedder } : {}) });
    if (values.json) {
      const relevance = relevanceOf(outcome);
      console.log(
        terminalSafeJson({
          method: outcome.method,
          ...(outcome.note ? { note: outcome.note } : {}),
          results: outcome.hits.map((hit, index) => ({ ...hit, relevance: relevance[index] })),
        }),
      );
    } else {
      console.log(formatSearchOutcome(outcome, embedder, registry.counts()));
    }
    return 0;
  } finally {
    registry.close();
  }
}
