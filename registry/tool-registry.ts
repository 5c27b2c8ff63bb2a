import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { Bm25Ranking } from "./bm25-ranking.ts";
import { ftsWords } from "./fts-query.ts";
import { type Embedder, EmbeddingUnavailableError } from "./ollama-embedder.ts";
import { reciprocalRankFusion } from "./reciprocal-rank-fusion.ts";
import { normalized, storeMissingEmbeddings } from "./embedding-cache.ts";
import { type RefreshSummary, refreshIndex } from "./refresh-index.ts";
import { isDamagedDatabaseError } from "../security/stamped-database.ts";
import { FTS_TOKENIZER, openRegistryDatabase, REGISTRY_DATABASE_PATH, rebuiltNotice, recreateRegistryDatabase } from "./registry-database.ts";
import { collectToolSources, type ToolSource } from "./tool-sources.ts";
import { rerankCount, VectorMatrix } from "./vector-matrix.ts";

/** One tool a search found. */
export type ToolHit = {
  name: string;
  description: string;
  origin: "promoted" | "candidate";
  /** The candidate branch the tool is on; absent for promoted tools. */
  branch?: string;
  /** Higher is better: BM25 (negated) for FTS alone, the fused reciprocal-rank score when blended. */
  score: number;
};

/** Where a registry's tools come from: by default the checkout's and its candidate branches' metadata.json files. */
export type CollectSources = (signal?: AbortSignal) => Promise<{ sources: ToolSource[]; notices: string[] }>;

/** What a search used and found; `note` says why embeddings were not used when they were asked for. */
export type SearchOutcome = { method: "fts" | "fts+embeddings"; hits: ToolHit[]; note?: string };

// How deep each ranked list goes before fusion.
const FUSION_DEPTH = 50;
const QUERY_LIMIT = 2_000;
/** What a search's query is embedded after (nomic's task prefix): a query's vector is that of `SEARCH_QUERY + query`. */
export const SEARCH_QUERY = "search_query: ";

type Row = { id: number; name: string; description: string; origin: "promoted" | "candidate"; branch: string | null };

function hitOf(row: Row, score: number): ToolHit {
  return { name: row.name, description: row.description, origin: row.origin, ...(row.branch ? { branch: row.branch } : {}), score };
}

/**
 * The index over generated tools: a bun:sqlite cache under `.org/` rebuilt from the checkout's
 * `tools/generated/*\/metadata.json` and the `cand/*` branches; full-text search with BM25, blended with
 * cached embeddings when an embedder is given and answers.
 */
export class ToolRegistry {
  #database: Database;
  #ranking: Bm25Ranking;
  #matrix: VectorMatrix | undefined;
  // The model whose document vectors are known complete since the last refresh: no per-search check then.
  #embeddedFor: string | undefined;
  readonly #collect: CollectSources;
  readonly repoDir: string;
  readonly databasePath: string;

  private constructor(repoDir: string, databasePath: string, database: Database, collect: CollectSources) {
    this.repoDir = repoDir;
    this.databasePath = databasePath;
    this.#database = database;
    this.#collect = collect;
    this.#ranking = new Bm25Ranking(database, FTS_TOKENIZER);
  }

  /**
   * Opens the registry of the checkout at `repoDir` (its database rebuilt, with a notice, when damaged or foreign); `collect`
   * gives other tools to index than the checkout's (the team's offers grow searches, in a database of their own).
   */
  static open(
    repoDir: string,
    databasePath = join(repoDir, REGISTRY_DATABASE_PATH),
    collect: CollectSources = (signal) => collectToolSources(repoDir, signal),
  ): { registry: ToolRegistry; notices: string[] } {
    const { database, notices } = openRegistryDatabase(databasePath);
    return { registry: new ToolRegistry(repoDir, databasePath, database, collect), notices };
  }

  /** Re-indexes what changed since the last refresh (content hashes compared); a damaged file is rebuilt. */
  async refresh(signal?: AbortSignal): Promise<RefreshSummary> {
    const { sources, notices } = await this.#collect(signal);
    this.#matrix = undefined;
    this.#embeddedFor = undefined;
    try {
      const summary = await refreshIndex(this.#database, sources, signal);
      return { ...summary, notices: [...notices, ...summary.notices] };
    } catch (error) {
      if (!isDamagedDatabaseError(error)) throw error;
      this.#database.close();
      this.#ranking.close();
      this.#database = recreateRegistryDatabase(this.databasePath);
      this.#ranking = new Bm25Ranking(this.#database, FTS_TOKENIZER);
      const summary = await refreshIndex(this.#database, sources, signal);
      return { ...summary, notices: [rebuiltNotice(this.databasePath, error), ...notices, ...summary.notices] };
    }
  }

  /** How many tools the index holds, by origin. */
  counts(): { promoted: number; candidate: number } {
    const rows = this.#database.query<{ origin: string; count: number }, []>("SELECT origin, count(*) AS count FROM tools GROUP BY origin").all();
    return {
      promoted: rows.find((row) => row.origin === "promoted")?.count ?? 0,
      candidate: rows.find((row) => row.origin === "candidate")?.count ?? 0,
    };
  }

  /** Full-text search alone: ids and negated BM25, best first. */
  searchText(query: string, limit: number, origin?: "promoted"): { id: number; score: number }[] {
    const words = ftsWords(query.slice(0, QUERY_LIMIT));
    if (words.length === 0) return [];
    return this.#ranking.best(words, limit, origin === "promoted").map((row) => ({ id: row.id, score: -row.rank }));
  }

  /**
   * Finds tools for `query`, best first: BM25 over the words, fused (reciprocal rank) with cosine similarity
   * of cached embeddings when `embedder` answers; FTS alone otherwise, with a note saying why.
   */
  async search(
    query: string,
    options: { limit?: number; embedder?: Embedder; promotedOnly?: boolean; signal?: AbortSignal } = {},
  ): Promise<SearchOutcome> {
    const limit = Math.max(1, options.limit ?? 10);
    const origin = options.promotedOnly ? "promoted" : undefined;
    // The query's embedding is asked for before FTS5 runs: a server in another process embeds it meanwhile.
    const pending = options.embedder ? this.searchVectors(query, options.embedder, FUSION_DEPTH, origin, options.signal) : undefined;
    // Awaited below; until then a failure must not count as unhandled (when FTS5 itself throws first).
    pending?.catch(() => undefined);
    const text = this.searchText(query, Math.max(limit, FUSION_DEPTH), origin);
    if (!pending) return { method: "fts", hits: this.#hits(text.slice(0, limit)) };
    let similar: { id: number; score: number }[];
    try {
      similar = await pending;
    } catch (error) {
      if (!(error instanceof EmbeddingUnavailableError)) throw error;
      return { method: "fts", hits: this.#hits(text.slice(0, limit)), note: `embeddings not used: ${error.message}` };
    }
    const fused = reciprocalRankFusion([text.map((hit) => hit.id), similar.map((hit) => hit.id)]).slice(0, limit);
    return { method: "fts+embeddings", hits: this.#hits(fused) };
  }

  /**
   * Cosine similarity of the query's embedding to the cached tool embeddings: ids, best first. The two-bit codes of
   * every tool pick `rerank` of them (by default `rerankCount`), whose vectors (half precision) then decide; with no
   * more tools than that, every tool is compared.
   */
  async searchVectors(
    query: string,
    embedder: Embedder,
    limit: number,
    origin?: "promoted",
    signal?: AbortSignal,
    rerank?: number,
  ): Promise<{ id: number; score: number }[]> {
    const [queryVector] = await embedder.embed([`${SEARCH_QUERY}${query.slice(0, QUERY_LIMIT)}`], signal);
    if (this.#embeddedFor !== embedder.cacheKey) await this.embedDocuments(embedder, signal);
    if (this.#matrix?.model !== embedder.cacheKey) this.#matrix = VectorMatrix.load(this.#database, embedder.cacheKey);
    const matrix = this.#matrix;
    if (!queryVector || matrix.dimensions !== queryVector.length) return [];
    return matrix.nearest(normalized(queryVector), limit, rerank ?? rerankCount(matrix.size, limit), origin === "promoted");
  }

  /** Embeds every indexed tool whose text has no cached vector from this embedder (server and model) yet, in batches. */
  async embedDocuments(embedder: Embedder, signal?: AbortSignal): Promise<number> {
    const missing = this.#database
      .query<{ hash: string; text: string }, [string]>(
        "SELECT DISTINCT embed_hash AS hash, embed_text AS text FROM tools WHERE embed_hash NOT IN (SELECT hash FROM embeddings WHERE model = ?)",
      )
      .all(embedder.cacheKey);
    await storeMissingEmbeddings(this.#database, embedder, missing, signal);
    if (missing.length > 0) this.#matrix = undefined;
    this.#embeddedFor = embedder.cacheKey;
    return missing.length;
  }

  /** The first `limit` tools by name (promoted first), with no query: what a planner is offered when the index holds few. */
  listed(limit: number, origin?: "promoted"): ToolHit[] {
    const rows = this.#database
      .query<Row, [number]>(
        `SELECT id, name, description, origin, branch FROM tools ${
          origin === "promoted" ? "WHERE origin = " + "'promoted'" : ""
        } ORDER BY origin = 'candidate', name LIMIT ?`,
      )
      .all(Math.max(0, limit));
    return rows.map((found) => hitOf(found, 0));
  }

  #hits(ranked: readonly { id: number; score: number }[]): ToolHit[] {
    const row = this.#database.query<Row, [number]>("SELECT id, name, description, origin, branch FROM tools WHERE id = ?");
    return ranked.flatMap(({ id, score }) => {
      const found = row.get(id);
      return found ? [hitOf(found, score)] : [];
    });
  }

  close(): void {
    this.#ranking.close();
    this.#database.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
