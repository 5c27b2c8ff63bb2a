import { undonePromotions } from "./candidate-states.ts";
import { PROMOTE_TAG_PATTERN } from "./ref-names.ts";
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
  const out = await git.run(["for-each-ref", "--sort=-refname", "--format=%(refname:strip=2) %(objectname)", "refs/tags/promote/"], { signal });
  const undone = await undonePromotions(git, signal);
  for (const line of out.split("\n")) {
    const [tag = "", commit = ""] = line.split(" ");
    if (!PROMOTE_TAG_PATTERN.test(tag) || undone.has(tag)) continue;
    const base = (await git.run(["merge-base", "--end-of-options", commit, main], { signal }).catch(() => "")).trim();
    const at = tagTime(tag);
    if (base === commit && at) return { tag, commit, at };
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
  const out = await git.run(
    ["for-each-ref", "--sort=refname", "--format=%(refname:strip=2)%00%(contents)%00%00", "refs/tags/promote/", "refs/tags/rollback/"],
    { signal },
  );
  const promotions: { tag: string; at: Date }[] = [];
  const rollbacks: { tag: string; at: Date; undoes?: string }[] = [];
  for (const record of out.split("\0\0")) {
    const [tag = "", contents = ""] = record.replace(/^\n/, "").split("\0");
    const at = tagTime(tag);
    if (!at || at.getTime() < from || at.getTime() >= to) continue;
    if (tag.startsWith("promote/")) promotions.push({ tag, at });
    else {
      const undoes = /^Rolls-Back: (\S+)$/m.exec(contents)?.[1];
      rollbacks.push({ tag, at, ...(undoes ? { undoes } : {}) });
    }
  }
  return { promotions, rollbacks };
}
