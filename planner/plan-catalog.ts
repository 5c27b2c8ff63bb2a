import { existsSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";
import { readPromotedTool } from "../generated-tools/read-promoted-tool.ts";
import type { ToolAtRef } from "../generated-tools/tool-catalog.ts";
import type { ToolExample, ToolSpec } from "../generated-tools/tool-metadata.ts";
import type { Embedder } from "../registry/ollama-embedder.ts";
import type { ToolHit, ToolRegistry } from "../registry/tool-registry.ts";
import type { PlanTool } from "../workflows/check-plan.ts";

/** A tool offered to the planner: what its metadata says, and where it comes from. */
export type CatalogTool = PlanTool & { name: string; description: string; example?: ToolExample; origin: "promoted" | "candidate"; branch?: string };

/** A candidate branch's tools, read through git and checked (`--ref`, or what `--build` made). */
export type BranchTools = { ref: string; tools: ReadonlyMap<string, ToolAtRef> };

/** Where a plan's tools are found. */
export type CatalogSources = {
  registry: ToolRegistry;
  embedder?: Embedder;
  /** The folders whose promoted tools count, first match first: the workspace's, then the checkout's. */
  roots: readonly string[];
  branches: readonly BranchTools[];
  /** How many tools to offer at most (workflow.planTools). */
  limit: number;
  signal?: AbortSignal;
};

const toCatalogTool = (spec: ToolSpec, origin: CatalogTool["origin"], branch?: string): CatalogTool => ({
  name: spec.name,
  description: spec.description,
  inputSchema: spec.input_schema,
  outputSchema: spec.output_schema,
  ...(spec.examples[0] ? { example: spec.examples[0] } : {}),
  origin,
  ...(branch ? { branch } : {}),
});

/**
 * The tools a goal may need: every tool of the branches given, then the registry's best for the goal (promoted, and
 * candidates on those branches), filled up with the index's first tools by name while fewer than `limit` were found, each
 * read from its metadata (a tool whose files do not check out is left out, with a note).
 */
export async function planCatalog(goal: string, sources: CatalogSources): Promise<{ tools: CatalogTool[]; notes: string[] }> {
  const notes: string[] = [];
  const found = new Map<string, CatalogTool>();
  const promoted = (name: string) => sources.roots.some((root) => existsSync(join(root, GENERATED_TOOLS_DIR, name)));
  for (const branch of sources.branches) {
    for (const [name, tool] of branch.tools) {
      // A branch holds main's tools too: what it brings is what main does not have.
      if (found.has(name) || promoted(name)) continue;
      if (tool.ok) found.set(name, toCatalogTool(tool.metadata.spec, "candidate", branch.ref));
      else notes.push(`${name} on ${branch.ref} is left out: ${tool.problem}`);
    }
  }
  const refs = new Set(sources.branches.map((branch) => branch.ref));
  const usable = (hit: ToolHit) => hit.origin === "promoted" || (hit.branch !== undefined && refs.has(hit.branch));
  const outcome = await sources.registry.search(goal, {
    limit: sources.limit * 2,
    ...(sources.embedder ? { embedder: sources.embedder } : {}),
    promotedOnly: refs.size === 0,
    ...(sources.signal ? { signal: sources.signal } : {}),
  });
  if (outcome.note) notes.push(outcome.note);
  const hits = outcome.hits.filter(usable);
  if (hits.length < sources.limit) hits.push(...sources.registry.listed(sources.limit * 2, refs.size === 0 ? "promoted" : undefined).filter(usable));
  let offered = 0;
  for (const hit of hits) {
    if (offered >= sources.limit) break;
    // A promoted tool the branches change is offered as the branches have it.
    if (found.has(hit.name) || hit.origin !== "promoted") continue;
    const root = sources.roots.find((candidate) => existsSync(join(candidate, GENERATED_TOOLS_DIR, hit.name)));
    if (root === undefined) continue;
    const read = readPromotedTool(root, hit.name);
    if (read.ok) {
      found.set(hit.name, toCatalogTool(read.tool.metadata.spec, "promoted"));
      offered += 1;
    } else notes.push(`${hit.name} is left out: ${read.problem}`);
  }
  return { tools: [...found.values()], notes };
}

/** The catalogue as the plan check takes it. */
export const planTools = (tools: readonly CatalogTool[]): Map<string, CatalogTool> => new Map(tools.map((tool) => [tool.name, tool]));
