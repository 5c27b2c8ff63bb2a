import { checkProtectedCore } from "../fitness/protected-core.ts";
import { CandidateRefusedError, checkCandidateBranch } from "../git/candidate-branch.ts";
import { type PrunedCandidate, pruneCandidates } from "./candidate-prune.ts";
import { type RebasedCandidate, rebaseCandidate } from "../git/candidate-rebase.ts";
import { type CandidateRow, candidateStates } from "../fitness/candidate-states.ts";
import { branchRef, MAIN_REF } from "../git/ref-names.ts";
import type { RepoGit } from "../git/repo-git.ts";

/** One row per `cand/*` branch of `git`: its tools, when it was built, its state and newest report. */
export function listCandidates(git: RepoGit, signal: AbortSignal): Promise<CandidateRow[]> {
  return candidateStates(git, signal);
}

/**
 * A new candidate from today's main with `branch`'s tool files, or why not: a branch that is no candidate, is not
 * there, or touches anything outside the tool files is refused outright.
 */
export async function rebaseOntoMain(
  git: RepoGit,
  branch: string,
  signal: AbortSignal,
): Promise<{ ok: true; rebased: RebasedCandidate } | { ok: false; refused: string }> {
  try {
    checkCandidateBranch(branch);
    const head = await git.resolveCommit(branchRef(branch));
    if (!head) throw new CandidateRefusedError(`there is no branch ${branch}; 'org candidate list' lists the candidates`);
    const main = await git.resolveCommit(MAIN_REF);
    const base = main ? ((await git.mergeBase(main, head, signal)) ?? "") : "";
    // Only tool files are carried over; a branch touching anything else is refused outright.
    if (base && base !== head) {
      const core = await checkProtectedCore(git, base, head, { allowCore: false, signal });
      if (!core.ok) throw new CandidateRefusedError(core.reason);
    }
    return { ok: true, rebased: await rebaseCandidate(git, branch, { signal }) };
  } catch (error) {
    if (error instanceof CandidateRefusedError) return { ok: false, refused: error.message };
    throw error;
  }
}

/** The candidates that are done with (promoted, rolled back, failed, superseded), deleted with their worktrees and reports unless `dryRun`. */
export function pruneCandidateBranches(
  git: RepoGit,
  options: { dryRun: boolean; olderThanDays?: number; keep?: ReadonlySet<string>; signal: AbortSignal },
): Promise<PrunedCandidate[]> {
  return pruneCandidates(git, options);
}
