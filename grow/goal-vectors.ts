import { type Embedder, EmbeddingUnavailableError } from "../registry/ollama-embedder.ts";
import { SEARCH_QUERY } from "../registry/tool-registry.ts";
import type { GoalVectors } from "./same-meaning.ts";

/**
 * Each goal's embedding, as the registry's search embeds a query (so that it answers that search too,
 * `withQueryVectors`), when an embedding server answers; a note says why not when it does not.
 */
export async function goalVectors(
  embedder: Embedder | undefined,
  goals: string[],
  signal: AbortSignal,
  notes: string[],
): Promise<GoalVectors | undefined> {
  if (!embedder) return undefined;
  const unique = [...new Set(goals)];
  if (unique.length === 0) return new Map();
  try {
    const vectors = await embedder.embed(
      unique.map((goal) => `${SEARCH_QUERY}${goal}`),
      signal,
    );
    return new Map(unique.flatMap((goal, index) => (vectors[index] ? [[goal, vectors[index]] as const] : [])));
  } catch (error) {
    if (!(error instanceof EmbeddingUnavailableError)) throw error;
    notes.push(`embeddings not used for merging needs: ${error.message}`);
    return undefined;
  }
}

/**
 * `embedder`, answering the registry's query of a goal (`search_query: GOAL`) with the vector `vectors` hold for it
 * (one embedded in the run's batch), and asking the server only for the rest.
 */
export function withQueryVectors(embedder: Embedder, vectors: GoalVectors | undefined): Embedder {
  if (!vectors || vectors.size === 0) return embedder;
  return {
    ...embedder,
    embed: async (texts, signal) => {
      const known = texts.map((text) => (text.startsWith(SEARCH_QUERY) ? vectors.get(text.slice(SEARCH_QUERY.length)) : undefined));
      const missing = texts.filter((_, index) => known[index] === undefined);
      const asked = missing.length > 0 ? await embedder.embed(missing, signal) : [];
      let next = 0;
      return known.map((vector) => vector ?? asked[next++] ?? new Float32Array());
    },
  };
}
