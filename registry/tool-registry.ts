import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { ftsQuery } from "./fts-query.ts";
import { BinaryQuantizedIndex } from "./binary-quantized-index.ts";
import { type Embedder, EmbeddingUnavailableError } from "./ollama-embedder.ts";
import { reciprocalRankFusion } from "./reciprocal-rank-fusion.ts";
import { normalized, storeMissingEmbeddings } from "./embedding-cache.ts";
import { type RefreshSummary, refreshIndex } from "./refresh-index.ts";
import { isDamagedDatabaseError, openRegistryDatabase, REGISTRY_DATABASE_PATH, rebuiltNotice, recreateRegistryDatabase } from "./registry-database.ts";
import { collectToolSources } from "./tool-sources.ts";

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

/** What a search used and found; `note` says why embeddings were not used when they were asked for. */
export type SearchOutcome = { method: "fts" | "fts+embeddings"; hits: ToolHit[]; note?: string };

// How deep each ranked list goes before fusion.
const FUSION_DEPTH = 50;
/**
 * How many tools the one-bit codes pick for the cosine re-rank among `size`: 1 000, or one in 40 of a larger
 * registry (bench:registry prints the recall against brute force; on the scripted server's embeddings a fixed 500
 * kept 47 % of the true top 10 at 100 000 tools, 2 000 kept 89 %).
 */
export function rerankCandidates(size: number): number {
  return Math.max(1_000, Math.ceil(size / 40));
}
const QUERY_LIMIT = 2_000;
// Column weights for bm25(): a word in the name counts most, then the description, fields, examples.
const BM25 = "bm25(tools_fts, 10.0, 4.0, 2.0, 1.0)";

type Row = { id: number; name: string; description: string; origin: "promoted" | "candidate"; branch: string | null };
// The one-bit codes pick candidates; half-precision copies of the vectors give their cosine (to within about 1e-3;
// half the memory of float32, which at 100 000 tools is 150 MiB; reading float32 back from sqlite per search cost
// more than the whole pick).
type VectorMatrix = { model: string; dimensions: number; ids: Int32Array; vectors: Float16Array; index: BinaryQuantizedIndex };

/**
 * The index over generated tools: a bun:sqlite cache under `.org/` rebuilt from the checkout's
 * `tools/generated/*\/metadata.json` and the `cand/*` branches; full-text search with BM25, blended with
 * cached embeddings when an embedder is given and answers.
 */
export class ToolRegistry {
  #database: Database;
  #matrix: VectorMatrix | undefined;
  // The model whose document vectors are known complete since the last refresh: no per-search check then.
  #embeddedFor: string | undefined;
  readonly repoDir: string;
  readonly databasePath: string;

  private constructor(repoDir: string, databasePath: string, database: Database) {
    this.repoDir = repoDir;
    this.databasePath = databasePath;
    this.#database = database;
  }

  /** Opens the registry of the checkout at `repoDir` (its database rebuilt, with a notice, when damaged or foreign). */
  static open(repoDir: string, databasePath = join(repoDir, REGISTRY_DATABASE_PATH)): { registry: ToolRegistry; notices: string[] } {
    const { database, notices } = openRegistryDatabase(databasePath);
    return { registry: new ToolRegistry(repoDir, databasePath, database), notices };
  }

  /** Re-indexes what changed since the last refresh (content hashes compared); a damaged file is rebuilt. */
  async refresh(signal?: AbortSignal): Promise<RefreshSummary> {
    const { sources, notices } = await collectToolSources(this.repoDir, signal);
    this.#matrix = undefined;
    this.#embeddedFor = undefined;
    try {
      const summary = await refreshIndex(this.#database, sources, signal);
      return { ...summary, notices: [...notices, ...summary.notices] };
    } catch (error) {
      if (!isDamagedDatabaseError(error)) throw error;
      this.#database.close();
      this.#database = recreateRegistryDatabase(this.databasePath);
      const summary = await refreshIndex(this.#database, sources, signal);
      return { ...summary, notices: [rebuiltNotice(this.databasePath, error), ...notices, ...summary.notices] };
    }
  }

  /** How many tools the index holds, by origin. */
  counts(): { promoted: number; candidate: number } {
    const rows = this.#database.query<{ origin: string; count: number }, []>("SELECT origin, count(*) AS count FROM tools GROUP BY origin").all();
    return { promoted: rows.find((row) => row.origin === "promoted")?.count ?? 0, candidate: rows.find((row) => row.origin === "candidate")?.count ?? 0 };
  }

  /** Full-text search alone: ids and negated BM25, best first. */
  searchText(query: string, limit: number, origin?: "promoted"): { id: number; score: number }[] {
    const match = ftsQuery(query.slice(0, QUERY_LIMIT));
    if (match === undefined) return [];
    // The join is only paid for when a filter needs it.
    const sql = origin
      ? `SELECT tools_fts.rowid AS id, ${BM25} AS rank FROM tools_fts JOIN tools ON tools.id = tools_fts.rowid
         WHERE tools_fts MATCH ? AND tools.origin = 'promoted' ORDER BY rank LIMIT ?`
      : `SELECT rowid AS id, ${BM25} AS rank FROM tools_fts WHERE tools_fts MATCH ? ORDER BY rank LIMIT ?`;
    return this.#database
      .query<{ id: number; rank: number }, [string, number]>(sql)
      .all(match, limit)
      .map((row) => ({ id: row.id, score: -row.rank }));
  }

  /**
   * Finds tools for `query`, best first: BM25 over the words, fused (reciprocal rank) with cosine similarity
   * of cached embeddings when `embedder` answers; FTS alone otherwise, with a note saying why.
   */
  async search(query: string, options: { limit?: number; embedder?: Embedder; promotedOnly?: boolean; signal?: AbortSignal } = {}): Promise<SearchOutcome> {
    const limit = Math.max(1, options.limit ?? 10);
    const origin = options.promotedOnly ? "promoted" : undefined;
    const text = this.searchText(query, Math.max(limit, FUSION_DEPTH), origin);
    if (!options.embedder) return { method: "fts", hits: this.#hits(text.slice(0, limit)) };
    let similar: { id: number; score: number }[];
    try {
      similar = await this.searchVectors(query, options.embedder, FUSION_DEPTH, origin, options.signal);
    } catch (error) {
      if (!(error instanceof EmbeddingUnavailableError)) throw error;
      return { method: "fts", hits: this.#hits(text.slice(0, limit)), note: `embeddings not used: ${error.message}` };
    }
    const fused = reciprocalRankFusion([text.map((hit) => hit.id), similar.map((hit) => hit.id)]).slice(0, limit);
    return { method: "fts+embeddings", hits: this.#hits(fused) };
  }

  /**
   * Cosine similarity of the query's embedding to the cached tool embeddings: ids, best first. The one-bit codes
   * pick `candidates` tools (by default `rerankCandidates`), whose vectors (half precision) then decide; with no more
   * tools than that, every tool is compared.
   */
  async searchVectors(
    query: string,
    embedder: Embedder,
    limit: number,
    origin?: "promoted",
    signal?: AbortSignal,
    candidates?: number,
  ): Promise<{ id: number; score: number }[]> {
    const [queryVector] = await embedder.embed([`search_query: ${query.slice(0, QUERY_LIMIT)}`], signal);
    if (this.#embeddedFor !== embedder.cacheKey) await this.embedDocuments(embedder, signal);
    const matrix = this.#vectorMatrix(embedder.cacheKey);
    if (!queryVector || matrix.dimensions !== queryVector.length) return [];
    const unit = normalized(queryVector);
    const allowed = origin
      ? new Set(
          this.#database
            .query<{ id: number }, []>("SELECT id FROM tools WHERE origin = 'promoted'")
            .all()
            .map((row) => row.id),
        )
      : undefined;
    const { ids, vectors, index, dimensions } = matrix;
    const picked = index.candidates(
      unit,
      Math.max(limit, candidates ?? rerankCandidates(index.size)),
      allowed ? (position) => allowed.has(ids[position] as number) : undefined,
    );
    // Each row is widened to float32 in one native copy first: element reads of a Float16Array are several times slower.
    const row = new Float32Array(dimensions);
    const scored = Array.from(picked, (position) => {
      row.set(vectors.subarray(position * dimensions, (position + 1) * dimensions));
      return { id: ids[position] as number, score: dotProduct(row, 0, unit, dimensions) };
    });
    // Ties go to the lower id, so the order never depends on the order the candidates came in.
    return scored.sort((a, b) => b.score - a.score || a.id - b.id).slice(0, limit);
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

  #vectorMatrix(model: string): VectorMatrix {
    if (this.#matrix?.model === model) return this.#matrix;
    const join = "FROM tools JOIN embeddings ON embeddings.hash = tools.embed_hash AND embeddings.model = ?";
    const first = this.#database
      .query<{ bytes: number; count: number }, [string]>(`SELECT max(length(embeddings.vector)) AS bytes, count(*) AS count ${join}`)
      .get(model);
    const dimensions = Math.floor((first?.bytes ?? 0) / 4);
    const capacity = first?.count ?? 0;
    const ids = new Int32Array(capacity);
    const vectors = new Float16Array(capacity * dimensions);
    // Rows stream one at a time into the one matrix: the rows are never all in memory beside it.
    const rows = this.#database.query<{ id: number; vector: Uint8Array }, [string]>(`SELECT tools.id AS id, embeddings.vector AS vector ${join}`);
    let count = 0;
    function* copied(): Generator<Float32Array> {
      for (const row of rows.iterate(model)) {
        if (count >= capacity) break;
        if (row.vector.byteLength !== dimensions * 4) continue;
        ids[count] = row.id;
        const vector = floatsOf(row.vector, dimensions);
        vectors.set(vector, count * dimensions);
        count += 1;
        yield vector;
      }
    }
    const index = BinaryQuantizedIndex.build(copied(), capacity, dimensions);
    this.#matrix = { model, dimensions, ids: ids.subarray(0, index.size), vectors: vectors.subarray(0, index.size * dimensions), index };
    return this.#matrix;
  }

  #hits(ranked: readonly { id: number; score: number }[]): ToolHit[] {
    const row = this.#database.query<Row, [number]>("SELECT id, name, description, origin, branch FROM tools WHERE id = ?");
    return ranked.flatMap(({ id, score }) => {
      const found = row.get(id);
      if (!found) return [];
      return [{ name: found.name, description: found.description, origin: found.origin, ...(found.branch ? { branch: found.branch } : {}), score }];
    });
  }

  close(): void {
    this.#database.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The dot product of `length` numbers of `matrix` from `offset` with `vector`, four at a time. */
function dotProduct(matrix: Float32Array, offset: number, vector: Float32Array, length: number): number {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let column = 0;
  for (; column + 4 <= length; column += 4) {
    const at = offset + column;
    a += (matrix[at] as number) * (vector[column] as number);
    b += (matrix[at + 1] as number) * (vector[column + 1] as number);
    c += (matrix[at + 2] as number) * (vector[column + 2] as number);
    d += (matrix[at + 3] as number) * (vector[column + 3] as number);
  }
  for (; column < length; column += 1) a += (matrix[offset + column] as number) * (vector[column] as number);
  return a + b + c + d;
}

/** The little-endian float32s of a stored vector, copied only when the bytes do not start on a 4-byte boundary. */
function floatsOf(bytes: Uint8Array, dimensions: number): Float32Array {
  return bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, dimensions) : new Float32Array(bytes.slice().buffer, 0, dimensions);
}
