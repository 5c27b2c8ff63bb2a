import type { Database } from "bun:sqlite";
import { EMBED_BATCH, type Embedder } from "./ollama-embedder.ts";

/** The table `storeMissingEmbeddings` fills: one vector per embedded text's hash and embedder, in every database that caches them. */
export const EMBEDDINGS_TABLE = `CREATE TABLE embeddings (
  hash TEXT NOT NULL,
  model TEXT NOT NULL,
  vector BLOB NOT NULL,
  PRIMARY KEY (hash, model)
) WITHOUT ROWID;`;

/** A vector scaled to length 1, so a dot product is the cosine. */
export function normalized(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum) || 1;
  return vector.map((value) => value / norm);
}

/**
 * Embeds the texts of `missing` in batches and stores each normalised vector in the database's
 * `embeddings (hash, model, vector)` table under the embedder's cache key (its server and model), so
 * switching servers or models never reuses another's vectors.
 */
export async function storeMissingEmbeddings(
  database: Database,
  embedder: Embedder,
  missing: readonly { hash: string; text: string }[],
  signal?: AbortSignal,
): Promise<void> {
  const insert = database.query("INSERT OR REPLACE INTO embeddings (hash, model, vector) VALUES (?, ?, ?)");
  for (let start = 0; start < missing.length; start += EMBED_BATCH) {
    const batch = missing.slice(start, start + EMBED_BATCH);
    const vectors = await embedder.embed(
      batch.map((row) => `search_document: ${row.text}`),
      signal,
    );
    database.transaction(() => {
      for (const [index, row] of batch.entries()) {
        const found = vectors[index];
        if (!found) throw new Error(`the embedding server returned ${vectors.length} vectors for ${batch.length} texts`);
        const vector = normalized(found);
        insert.run(row.hash, embedder.cacheKey, new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
      }
    })();
  }
}
