import { BASELINE_FILE, countSetBy, dropBaselineCounts, type FitnessBaseline, readBaseline } from "../fitness/fitness-baseline.ts";
import { PromotionJournal } from "./promotion-journal.ts";
import { MAIN_REF } from "../git/ref-names.ts";
import type { RepoGit } from "../git/repo-git.ts";

/** A count `--drop-baseline` removed: its scenario, what it was, and what set it. */
export type DroppedCount = { name: string; was: number | undefined; setBy: string };

/**
 * Removes the counts `names` from the gate's baseline, a person's decision about main, made under the promotion lock
 * so no promote or rollback moves the baseline meanwhile: what went, what was asked for and not there, what is left
 * (`file`: the baseline's path in the checkout).
 */
export async function dropBaseline(
  git: RepoGit,
  names: readonly string[],
): Promise<{ file: string; dropped: DroppedCount[]; missing: string[]; baseline: FitnessBaseline | undefined }> {
  const journal = new PromotionJournal(git.repoDir);
  journal.lock();
  try {
    const main = (await git.resolveCommit(MAIN_REF)) ?? "";
    const before = readBaseline(git.repoDir);
    const { dropped, baseline } = dropBaselineCounts(git.repoDir, names, main);
    return {
      file: BASELINE_FILE,
      dropped: dropped.map((name) => ({ name, was: before?.scenarios[name], setBy: before ? countSetBy(before, name).text : "" })),
      missing: names.filter((name) => !dropped.includes(name)),
      baseline,
    };
  } finally {
    journal.unlock();
  }
}
