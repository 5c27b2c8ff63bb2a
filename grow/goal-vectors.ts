import { type Embedder, EmbeddingUnavailableError } from "../registry/ollama-embedder.ts";
import type { GoalVectors } from "./same-meaning.ts";

/** Each goal's embedding, when an embedding server answers; a note says why not when it does not. */
export async function goalVectors(embedder: Embedder | undefined, goals: string[], signal: AbortSignal, notes: string[]): Promise<GoalVectors | undefined> {
  if (!embedder) return undefined;
  const unique = [...new Set(goals)];
  if (unique.length === 0) return new Map();
  try {
    const vectors = await embedder.embed(
      unique.map((goal) => `search_query: ${goal}`),
      signal,
    );
    return new Map(unique.flatMap((goal, index) => (vectors[index] ? [[goal, vectors[index]] as const] : [])));
  } catch (error) {
    if (!(error instanceof EmbeddingUnavailableError)) throw error;
    notes.push(`embeddings not used for merging needs: ${error.message}`);
    return undefined;
  }
}
