import { z } from "zod";
import { type AnyTool, defineTool } from "../tools/define-tool.ts";
import type { NeedHint } from "./need-hints.ts";
import { type NeedTerms, needSimilarity, needTerms, SAME_NEED } from "./need-similarity.ts";
import type { Embedder } from "./ollama-embedder.ts";
import { ToolRegistry } from "./tool-registry.ts";

/** How many generated tools a persona is offered at once, unless the config says otherwise. */
export const DEFAULT_GENERATED_TOOLS_PER_TURN = 8;
const FOUND_PER_CALL = 5;
const SEARCH_DEPTH = 100;

/** What a persona is offered for one message, and how it was chosen (for the transcript). */
export type ToolOffer = {
  /** Built-ins, the chosen generated tools and `find_tool`; `find_tool` adds to this map. */
  tools: Map<string, AnyTool>;
  chosen: string[];
  /** Generated tools the persona's policy allows, of which `chosen` were picked. */
  of: number;
  method: "fts" | "fts+embeddings";
};

/**
 * Per-turn tool choice: when a persona may use more generated tools than `perTurn`, it is offered its other
 * tools, the `perTurn` generated tools the registry ranks best for the message it answers, and `find_tool`
 * to look for more; what `find_tool` finds is callable from the next round. Fewer generated tools: all of
 * them, as before (undefined). A tool `hints` name for a need like the message (`org grow` found it covers a need
 * the room said it could not meet) comes first.
 */
export function turnToolChoice(options: {
  registry: ToolRegistry;
  embedder?: Embedder;
  perTurn?: number;
  isGenerated: (name: string) => boolean;
  hints?: readonly NeedHint[];
}) {
  const perTurn = options.perTurn ?? DEFAULT_GENERATED_TOOLS_PER_TURN;
  // Up to a few thousand hints, each read once, not once a message.
  let hintTerms: { tool: string; terms: NeedTerms }[] | undefined;
  const hinted = (allowed: ReadonlySet<string>, message: string): string[] => {
    hintTerms ??= (options.hints ?? []).map((hint) => ({ tool: hint.tool, terms: needTerms(hint.goal) }));
    const asked = needTerms(message);
    return hintTerms.filter((hint) => allowed.has(hint.tool) && needSimilarity(hint.terms, asked) >= SAME_NEED).map((hint) => hint.tool);
  };
  const ranked = async (query: string, allowed: ReadonlySet<string>, signal?: AbortSignal) => {
    const outcome = await options.registry.search(query, {
      limit: SEARCH_DEPTH,
      promotedOnly: true,
      ...(options.embedder ? { embedder: options.embedder } : {}),
      ...(signal ? { signal } : {}),
    });
    return { method: outcome.method, hits: outcome.hits.filter((hit) => allowed.has(hit.name)) };
  };
  return {
    /** The tools to offer for `message`, from `offered` (all the persona's policy allows); undefined: offer all. */
    async offer(offered: ReadonlyMap<string, AnyTool>, message: string, signal?: AbortSignal): Promise<ToolOffer | undefined> {
      const generated = [...offered.keys()].filter((name) => options.isGenerated(name));
      if (generated.length <= perTurn) return undefined;
      const allowed = new Set(generated);
      const { method, hits } = await ranked(message, allowed, signal);
      const chosen = [...new Set([...hinted(allowed, message), ...hits.map((hit) => hit.name)])].slice(0, perTurn);
      const tools = new Map([...offered].filter(([name]) => !allowed.has(name)));
      for (const name of chosen) addOffered(tools, offered, name);
      tools.set(
        "find_tool",
        findTool(tools, offered, allowed, (query) => ranked(query, allowed, signal)),
      );
      return { tools, chosen, of: generated.length, method };
    },
  };
}

/** Makes the offered tool `name` callable this turn; a name the persona is not offered adds nothing. */
function addOffered(tools: Map<string, AnyTool>, offered: ReadonlyMap<string, AnyTool>, name: string): void {
  const tool = offered.get(name);
  if (tool) tools.set(name, tool);
}

function findTool(
  tools: Map<string, AnyTool>,
  offered: ReadonlyMap<string, AnyTool>,
  allowed: ReadonlySet<string>,
  search: (query: string) => Promise<{ hits: { name: string; description: string }[] }>,
): AnyTool {
  return defineTool("find_tool", {
    description:
      `Searches the other generated tools by what they do (${allowed.size} in all) and makes the ` +
      `best matches callable from your next step. Describe the job in plain words.`,
    parameters: z.strictObject({ query: z.string().min(1).max(500).describe("what the tool should do, in plain words") }),
    // It only searches the catalogue; what it finds is asked about when called.
    acts: false,
    async execute({ query }) {
      const { hits } = await search(query);
      const found = hits.filter((hit) => !tools.has(hit.name)).slice(0, FOUND_PER_CALL);
      for (const hit of found) addOffered(tools, offered, hit.name);
      if (found.length === 0) {
        return { ok: true, output: "No other tool matches; use the tools you have, or describe the job in other words.", data: { found: [] } };
      }
      const lines = found.map((hit) => `- ${hit.name}: ${hit.description.replace(/\s+/g, " ").slice(0, 200)}`);
      return {
        ok: true,
        output: `These tools are now available; call them in your next step:\n${lines.join("\n")}`,
        data: { found: found.map((hit) => hit.name) },
      };
    },
  });
}

/**
 * Opens the registry of `repoDir` for per-turn tool choice when `generated` (the promoted tools personas may
 * use) are more than `perTurn`; undefined otherwise. Notices say what the index skipped or rebuilt.
 */
export async function openTurnToolChoice(options: {
  repoDir: string;
  generated: readonly string[];
  perTurn: number;
  embedder?: Embedder;
  hints?: readonly NeedHint[];
  signal?: AbortSignal;
}): Promise<{ choice: ReturnType<typeof turnToolChoice>; notices: string[]; close(): void } | undefined> {
  if (options.generated.length <= options.perTurn) return undefined;
  const { registry, notices } = ToolRegistry.open(options.repoDir);
  const summary = await registry.refresh(options.signal);
  const names = new Set(options.generated);
  const choice = turnToolChoice({
    registry,
    perTurn: options.perTurn,
    isGenerated: (name) => names.has(name),
    ...(options.embedder ? { embedder: options.embedder } : {}),
    ...(options.hints ? { hints: options.hints } : {}),
  });
  return { choice, notices: [...notices, ...summary.notices], close: () => registry.close() };
}
