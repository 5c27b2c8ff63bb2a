import { undonePromotions } from "./candidate-states.ts";
import type { RepoGit } from "./repo-git.ts";

/** A promotion still on main: its `promote/<UTC second>` tag, the merge it names, and when it was made (from the tag). */
export type PromotionInPlace = { tag: string; commit: string; at: Date };

/** The moment a `promote/` or `rollback/` tag's name says: `promote/20261123T101500Z` → 2026-11-23T10:15:00Z. */
export function tagTime(tag: string): Date | undefined {
  const stamp = /\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(tag);
  if (!stamp) return undefined;
  const [, year, month, day, hour, minute, second] = stamp;
  const at = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** The newest promotion main still holds and no rollback undid, or undefined when there is none. */
export async function lastPromotionInPlace(git: RepoGit, signal?: AbortSignal): Promise<PromotionInPlace | undefined> {
  const main = await git.resolveCommit("refs/heads/main");
  if (!main) return undefined;
  const undone = await undonePromotions(git, signal);
  for (const tag of (await git.promotionTags("promote", signal)).reverse()) {
    const at = tagTime(tag.name);
    if (undone.has(tag.name) || !at) continue;
    if ((await git.mergeBase(tag.commit, main, signal)) === tag.commit) return { tag: tag.name, commit: tag.commit, at };
  }
  return undefined;
}

/** The promotions and rollbacks tagged between `from` and `to` (ms since the epoch, by their tags' times), oldest first. */
export async function promotionTagsBetween(
  git: RepoGit,
  from: number,
  to: number,
  signal?: AbortSignal,
): Promise<{ promotions: { tag: string; at: Date }[]; rollbacks: { tag: string; at: Date; undoes?: string }[] }> {
  const within = (name: string) => {
    const at = tagTime(name);
    return at && at.getTime() >= from && at.getTime() < to ? at : undefined;
  };
  const promotions = (await git.promotionTags("promote", signal)).flatMap((tag) => {
    const at = within(tag.name);
    return at ? [{ tag: tag.name, at }] : [];
  });
  const rollbacks = (await git.promotionTags("rollback", signal)).flatMap((tag) => {
    const at = within(tag.name);
    const undoes = /^Rolls-Back: (\S+)$/m.exec(tag.message)?.[1];
    return at ? [{ tag: tag.name, at, ...(undoes ? { undoes } : {}) }] : [];
  });
  return { promotions, rollbacks };
}
