import { TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import type { RefChangeContext } from "../git/ref-change.ts";
import { PROMOTE_TAG_PATTERN } from "../git/ref-names.ts";
import { rollback } from "../git/rollback.ts";
import { toolsChanged } from "../git/tool-tree.ts";
import { publishRecall, type ShareAccess } from "../share/publish-offer.ts";

/** What a rollback is asked to undo: the newest promotion, the one a `promote/…` tag names, or the newest that changed a tool. */
export type RollbackTarget = { newest: true } | { promotionTag: string } | { tool: string };

/** `target` as a rollback reads it (none: the newest promotion); undefined when it is neither a promote tag nor a tool name. */
export function rollbackTarget(target: string | undefined): RollbackTarget | undefined {
  if (target === undefined) return { newest: true };
  if (PROMOTE_TAG_PATTERN.test(target)) return { promotionTag: target };
  return TOOL_NAME_PATTERN.test(target) ? { tool: target } : undefined;
}

/** A recall a rollback published for a tool this person had offered to the team, or why it could not. */
export type RollbackRecall = { tool: string; ref?: string; problem?: string };

/**
 * Reverts the promotion `target` names, after finishing a promote or rollback that was interrupted (then nothing else).
 * With `share` (the person's share setup), each tool the rollback took away that this person published is recalled on
 * the team's remote (a signed `refs/org/recalls/…`), `reason` saying why; a recall that cannot be pushed is said, and
 * the rollback stands.
 */
export async function rollbackPromotion(
  context: RefChangeContext,
  options: { restart: boolean; target: RollbackTarget; share?: ShareAccess; reason?: string },
) {
  const { target, restart, share } = options;
  const which = "promotionTag" in target ? { promotionTag: target.promotionTag } : "tool" in target ? { tool: target.tool } : {};
  const done = await rollback(context, { restart, ...which });
  const recalls: RollbackRecall[] = [];
  if (share && done.result) {
    for (const tool of await toolsChanged(context.git, done.result.newMain, done.result.mainBefore, context.signal)) {
      try {
        const ref = await publishRecall(share, tool, options.reason ?? `rolled back here (${done.result.tag})`);
        if (ref) recalls.push({ tool, ref });
      } catch (error) {
        recalls.push({ tool, problem: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  return { ...done, recalls };
}
