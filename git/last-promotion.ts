import { rolledBackPromotion, undonePromotions } from "./undone-promotions.ts";
import type { RepoGit } from "./repo-git.ts";
import { toolsChanged } from "./tool-tree.ts";

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

/** The promotions main still holds and no rollback undid, newest first (read one by one: a caller may stop early). */
async function* promotionsInPlace(git: RepoGit, signal?: AbortSignal): AsyncGenerator<PromotionInPlace> {
  const main = await git.resolveCommit("refs/heads/main");
  if (!main) return;
  const undone = await undonePromotions(git, signal);
  for (const tag of (await git.promotionTags("promote", signal)).reverse()) {
    const at = tagTime(tag.name);
    if (undone.has(tag.name) || !at) continue;
    if ((await git.mergeBase(tag.commit, main, signal)) === tag.commit) yield { tag: tag.name, commit: tag.commit, at };
  }
}

/** The newest promotion main still holds and no rollback undid, or undefined when there is none. */
export async function lastPromotionInPlace(git: RepoGit, signal?: AbortSignal): Promise<PromotionInPlace | undefined> {
  for await (const promotion of promotionsInPlace(git, signal)) return promotion;
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
    const undoes = rolledBackPromotion(tag.message);
    return at ? [{ tag: tag.name, at, ...(undoes ? { undoes } : {}) }] : [];
  });
  return { promotions, rollbacks };
}

/**
 * For each of `tools`, the newest promotion main still holds (no rollback undid it) that added or changed it: when the
 * tool.ts main has now came to be. A tool no such promotion brought (committed to main by hand) is left out.
 */
export async function toolPromotions(git: RepoGit, tools: ReadonlySet<string>, signal?: AbortSignal): Promise<Map<string, PromotionInPlace>> {
  const found = new Map<string, PromotionInPlace>();
  if (tools.size === 0) return found;
  for await (const promotion of promotionsInPlace(git, signal)) {
    const parent = await git.resolveCommit(`${promotion.commit}^1`);
    if (!parent) continue;
    for (const tool of await toolsChanged(git, parent, promotion.commit, signal)) if (tools.has(tool) && !found.has(tool)) found.set(tool, promotion);
    if (found.size === tools.size) break;
  }
  return found;
}
