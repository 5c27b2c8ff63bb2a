import type { Database } from "bun:sqlite";
import { ftsQuery } from "../registry/fts-query.ts";
import { normalized, storeMissingEmbeddings } from "../registry/embedding-cache.ts";
import { type Embedder, EmbeddingUnavailableError } from "../registry/ollama-embedder.ts";
import { reciprocalRankFusion } from "../registry/reciprocal-rank-fusion.ts";
import type { MemoryEntry } from "./memory-entry.ts";

/** One record a search found. */
export type MemoryHit = {
  kind: MemoryEntry["kind"];
  sessionId?: string;
  factId?: string;
  persona: string;
  time: string;
  /** The matching part of the text (whole for short records), redacted when it was stored. */
  snippet: string;
  tags: string[];
  /** Higher is better: BM25 (negated) for full text alone, the fused reciprocal-rank score when blended. */
  score: number;
};

export type MemorySearchOutcome = { method: "fts" | "fts+embeddings"; hits: MemoryHit[]; note?: string };

/** How a search is asked: how many records at most (default 10), and the embedder to blend with. */
export type SearchOptions = { limit?: number; embedder?: Embedder; signal?: AbortSignal };

const QUERY_CHARS = 2_000;
const FUSION_DEPTH = 50;
// Documents embedded per search at most: a large memory gets its vectors over several searches.
const EMBED_PER_SEARCH = 512;

type Row = {
  id: number;
  kind: MemoryEntry["kind"];
  session_id: string | null;
  fact_id: string | null;
  persona: string;
  time: string;
  tags: string;
  text: string;
};

/**
 * Finds records for `query`, best first: BM25 over its words (any text is a query, never FTS syntax),
 * fused by reciprocal rank with embedding similarity when `embedder` answers; full text alone otherwise,
 * with a note saying why. `database` is the store's file now; `withRepair` runs the full-text read the store's way.
 */
export async function searchMemory(
  database: () => Database,
  query: string,
  options: SearchOptions,
  withRepair: <T>(work: () => T) => T,
): Promise<MemorySearchOutcome> {
  const limit = Math.min(100, Math.max(1, Math.floor(options.limit ?? 10)));
  const text = withRepair(() => textMatches(database(), query, Math.max(limit, FUSION_DEPTH)));
  if (!options.embedder) return { method: "fts", hits: memoryHits(database(), text.slice(0, limit), query) };
  let similar: number[];
  try {
    similar = await similarEntries(database(), query, options.embedder, options.signal);
  } catch (error) {
    if (!(error instanceof EmbeddingUnavailableError)) throw error;
    return { method: "fts", hits: memoryHits(database(), text.slice(0, limit), query), note: `embeddings not used: ${error.message}` };
  }
  const fused = reciprocalRankFusion([text.map((hit) => hit.id), similar]).slice(0, limit);
  return { method: "fts+embeddings", hits: memoryHits(database(), fused, query) };
}

function textMatches(database: Database, query: string, limit: number): { id: number; score: number }[] {
  const match = ftsQuery(query.slice(0, QUERY_CHARS));
  if (match === undefined) return [];
  return database
    .query<{ id: number; rank: number }, [string, number]>(
      "SELECT rowid AS id, bm25(entries_fts, 1.0, 0.5) AS rank FROM entries_fts WHERE entries_fts MATCH ? ORDER BY rank LIMIT ?",
    )
    .all(match, limit)
    .map((row) => ({ id: row.id, score: -row.rank }));
}

async function similarEntries(database: Database, query: string, embedder: Embedder, signal?: AbortSignal): Promise<number[]> {
  const [queryVector] = await embedder.embed([`search_query: ${query.slice(0, QUERY_CHARS)}`], signal);
  const missing = database
    .query<{ hash: string; text: string }, [string, number]>(
      "SELECT embed_hash AS hash, min(text) AS text FROM entries WHERE embed_hash NOT IN (SELECT hash FROM " +
        "embeddings WHERE model = ?) GROUP BY embed_hash ORDER BY max(id) DESC LIMIT ?",
    )
    .all(embedder.cacheKey, EMBED_PER_SEARCH);
  await storeMissingEmbeddings(database, embedder, missing, signal);
  if (!queryVector) return [];
  const unit = normalized(queryVector);
  const rows = database
    .query<{ id: number; vector: Uint8Array }, [string]>(
      "SELECT entries.id AS id, embeddings.vector AS vector FROM entries JOIN embeddings ON embeddings.hash = " +
        "entries.embed_hash AND embeddings.model = ?",
    )
    .all(embedder.cacheKey);
  const scored: { id: number; score: number }[] = [];
  for (const row of rows) {
    if (row.vector.byteLength !== unit.length * 4) continue;
    const vector = new Float32Array(row.vector.slice().buffer);
    // Same length (checked above), so every index reads a number.
    let dot = 0;
    for (let index = 0; index < unit.length; index += 1) dot += (vector[index] ?? 0) * (unit[index] ?? 0);
    scored.push({ id: row.id, score: dot });
  }
  return scored
    .sort((a, b) => b.score - a.score)
    .slice(0, FUSION_DEPTH)
    .map((hit) => hit.id);
}

function memoryHits(database: Database, ranked: readonly { id: number; score: number }[], query: string): MemoryHit[] {
  const match = ftsQuery(query.slice(0, QUERY_CHARS));
  const row = database.query<Row, [number]>("SELECT id, kind, session_id, fact_id, persona, time, tags, text FROM entries WHERE id = ?");
  const snippet = match
    ? database.query<{ snippet: string }, [number, string]>(
        "SELECT snippet(entries_fts, 0, '', '', '…', 32) AS snippet FROM entries_fts WHERE rowid = ? AND entries_fts MATCH ?",
      )
    : undefined;
  return ranked.flatMap(({ id, score }) => {
    const found = row.get(id);
    if (!found) return [];
    const matched = match ? snippet?.get(id, match)?.snippet : undefined;
    return [
      {
        kind: found.kind,
        ...(found.session_id !== null ? { sessionId: found.session_id } : {}),
        ...(found.fact_id !== null ? { factId: found.fact_id } : {}),
        persona: found.persona,
        time: found.time,
        snippet: matched ?? (found.text.length > 300 ? `${found.text.slice(0, 300)}…` : found.text),
        tags: found.tags === "" ? [] : found.tags.split(" "),
        score,
      },
    ];
  });
}
