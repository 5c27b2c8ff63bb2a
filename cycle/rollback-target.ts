import { TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { PROMOTE_TAG_PATTERN } from "../git/ref-names.ts";

/** What a rollback is asked to undo: the newest promotion, the one a `promote/…` tag names, or the newest that changed a tool. */
export type RollbackTarget = { newest: true } | { promotionTag: string } | { tool: string };

/** `target` as a rollback reads it (none: the newest promotion); undefined when it is neither a promote tag nor a tool name. */
export function rollbackTarget(target: string | undefined): RollbackTarget | undefined {
  if (target === undefined) return { newest: true };
  if (PROMOTE_TAG_PATTERN.test(target)) return { promotionTag: target };
  return TOOL_NAME_PATTERN.test(target) ? { tool: target } : undefined;
}
