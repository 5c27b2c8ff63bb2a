import type { Embedder } from "../registry/ollama-embedder.ts";
import { COVERED_BY_TOOL, needSimilarity } from "../registry/need-similarity.ts";
import type { ToolRegistry } from "../registry/tool-registry.ts";
import type { Proposal } from "./proposal.ts";

/** Registry hits weighed per need. */
const HITS = 5;

/**
 * The promoted tool that already answers a need, if one does: the registry's best few hits for the goal (full text,
 * and embeddings when there are), each weighed by needSimilarity against its name and description; the best at or
 * above COVERED_BY_TOOL answers it.
 */
async function coveringTool(
  registry: ToolRegistry,
  goal: string,
  options: { embedder?: Embedder; signal?: AbortSignal } = {},
): Promise<{ tool: string; similarity: number } | undefined> {
  const outcome = await registry.search(goal, {
    limit: HITS,
    promotedOnly: true,
    ...(options.embedder ? { embedder: options.embedder } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let best: { tool: string; similarity: number } | undefined;
  for (const hit of outcome.hits) {
    const similarity = needSimilarity(goal, `${hit.name} ${hit.description}`);
    if (similarity >= COVERED_BY_TOOL && (!best || similarity > best.similarity)) best = { tool: hit.name, similarity };
  }
  return best;
}

/**
 * Marks each of `ids` (proposals to build, pending or covered) covered by the tool that answers it, or pending
 * again when the tool that covered it is gone. Returns the ids newly covered.
 */
export async function coverProposals(
  proposals: Proposal[],
  ids: ReadonlySet<string>,
  registry: ToolRegistry,
  options: { embedder?: Embedder; signal?: AbortSignal; now: string },
): Promise<string[]> {
  const covered: string[] = [];
  for (const proposal of proposals) {
    if (!ids.has(proposal.id) || proposal.kind !== "build" || (proposal.state !== "pending" && proposal.state !== "covered")) continue;
    const answer = await coveringTool(registry, proposal.goal, options);
    if (answer) {
      if (proposal.state !== "covered" || proposal.coveredBy !== answer.tool) covered.push(proposal.id);
      proposal.state = "covered";
      proposal.coveredBy = answer.tool;
    } else if (proposal.state === "covered") {
      proposal.state = "pending";
      delete proposal.coveredBy;
    } else continue;
    proposal.updatedAt = options.now;
  }
  return covered;
}
