import { z } from "zod";
import { type AnyTool, defineTool } from "../tools/define-tool.ts";
import type { MemoryStore } from "./memory-store.ts";

const Parameters = z.object({
  text: z.string().min(1).max(4_000).describe("The fact or procedure to remember, in a sentence or a few"),
  tags: z.array(z.string().min(1).max(64)).max(16).optional().describe("Words to find it by"),
});

/** `memory_save({ text, tags? })`: keeps a fact or a procedure for later sessions (redacted, in facts.jsonl and the index). */
export function memorySaveTool(store: MemoryStore): AnyTool {
  return defineTool("memory_save", {
    description:
      "Save a fact or a procedure worth remembering in later sessions of this workspace (memory_search finds " +
      "it). Secrets are redacted before it is stored.",
    parameters: Parameters,
    async execute({ text, tags }, context) {
      const saved = store.save({
        text,
        tags: tags ?? [],
        persona: context.persona ?? "unknown",
        // The room's secret set: a key the model echoes is stored redacted, not only the environment's.
        ...(context.secrets ? { secrets: context.secrets } : {}),
        ...(context.sessionId ? { sessionId: context.sessionId } : {}),
      });
      return { ok: true, output: `saved as ${saved.id}`, data: { id: saved.id, tags: saved.tags } };
    },
  });
}
