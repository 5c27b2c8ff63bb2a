import { z } from "zod";
import type { Embedder } from "../registry/ollama-embedder.ts";
import { type AnyTool, defineTool } from "../tools/define-tool.ts";
import { OUTSIDE_TAG } from "./memory-entry.ts";
import type { MemoryStore } from "./memory-store.ts";
import type { MemoryHit } from "./search-memory.ts";
import { MEMORY_PREAMBLE, neutralize } from "./quoted-memory.ts";

const Parameters = z.object({
  query: z.string().min(1).max(10_000).describe("Words to look for in past sessions and saved facts"),
  limit: z.int().min(1).max(50).optional().describe("How many records at most (default 8)"),
});

/** Where recalled words are said to come from, in the approval question's "read the words of …". */
const MEMORY_ORIGIN = "pages, servers' answers or saved facts recalled from this workspace's memory";

/** A hit as the model reads it: fields of a JSON object, its text made inert (`neutralize`). */
export function quotedHit(hit: MemoryHit, rank: number) {
  return {
    rank,
    kind: hit.kind,
    // Every field is text a file on disk held (a transcript may have been edited by hand): all of it is quoted.
    ...(hit.sessionId !== undefined ? { session: neutralize(hit.sessionId) } : {}),
    ...(hit.factId !== undefined ? { fact: neutralize(hit.factId) } : {}),
    from: neutralize(hit.persona),
    time: neutralize(hit.time),
    ...(hit.tags.length > 0 ? { tags: hit.tags.map(neutralize) } : {}),
    quoted: neutralize(hit.snippet),
  };
}

/** `memory_search({ query, limit? })`: ranked records from past sessions and saved facts, as quoted data. */
export function memorySearchTool(store: MemoryStore, embedder?: Embedder): AnyTool {
  return defineTool("memory_search", {
    description:
      "Search the memory of this workspace: past sessions (messages, tool calls and their results) and facts " +
      "saved with memory_save. Returns ranked records with their session id and time, as quoted data.",
    parameters: Parameters,
    // It only reads this workspace's memory; what it recalls from outside (or a persona kept) is marked so below.
    acts: false,
    async execute({ query, limit }, context) {
      const outcome = await store.search(query, { limit: limit ?? 8, ...(embedder ? { embedder } : {}), signal: context.signal });
      const data = {
        note: MEMORY_PREAMBLE,
        method: outcome.method,
        ...(outcome.note ? { embeddings: outcome.note } : {}),
        results: outcome.hits.map((hit, index) => quotedHit(hit, index + 1)),
      };
      // A result that carried words from outside when it came (a page's) is words from outside when recalled, and so is a
      // fact a persona kept (it may hold a page's words, saved in a later turn): else they would steer this turn unasked.
      const outside = outcome.hits.some((hit) => hit.kind === "fact" || (hit.kind === "tool-result" && hit.tags.includes(OUTSIDE_TAG)));
      return { ok: true, output: JSON.stringify(data), data, ...(outside ? { outsideWords: { from: MEMORY_ORIGIN } } : {}) };
    },
  });
}
