import { PROMOTE_TAG_PATTERN } from "./ref-names.ts";
import type { PromotionTag, RepoGit } from "./repo-git.ts";

/** The promotion tag a rollback's message names in its `Rolls-Back:` trailer, or undefined when it names none. */
export function rolledBackPromotion(message: string): string | undefined {
  const tag = /^Rolls-Back: (\S+)$/m.exec(message)?.[1];
  return tag !== undefined && PROMOTE_TAG_PATTERN.test(tag) ? tag : undefined;
}

/** The promotion tags that rollbacks have already undone (read from their commits' `Rolls-Back:` trailer). */
export async function undonePromotions(git: RepoGit, signal?: AbortSignal): Promise<Set<string>> {
  return undoneBy(await git.promotionTags("rollback", signal));
}

/** The promotion tags the rollback tags `rollbacks` undid, for a caller that has read them already (`promotionRefs`). */
export function undoneBy(rollbacks: readonly PromotionTag[]): Set<string> {
  return new Set(rollbacks.flatMap((tag) => rolledBackPromotion(tag.message) ?? []));
}
