import { PROMOTE_TAG_PATTERN } from "./ref-names.ts";
import type { RepoGit } from "./repo-git.ts";

/** The promotion tag a rollback's message names in its `Rolls-Back:` trailer, or undefined when it names none. */
export function rolledBackPromotion(message: string): string | undefined {
  const tag = /^Rolls-Back: (\S+)$/m.exec(message)?.[1];
  return tag !== undefined && PROMOTE_TAG_PATTERN.test(tag) ? tag : undefined;
}

/** The promotion tags that rollbacks have already undone (read from their commits' `Rolls-Back:` trailer). */
export async function undonePromotions(git: RepoGit, signal?: AbortSignal): Promise<Set<string>> {
  return new Set((await git.promotionTags("rollback", signal)).flatMap((tag) => rolledBackPromotion(tag.message) ?? []));
}
