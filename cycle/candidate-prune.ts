import { existsSync, lstatSync, rmSync } from "node:fs";
import { checkCandidateBranch } from "../git/candidate-branch.ts";
import { candidateWorktreeDir } from "../git/candidate-worktree.ts";
import { removeCandidate } from "../git/discard-candidate.ts";
import { type CandidateRow, candidateStates } from "../fitness/candidate-states.ts";
import { fitnessReportDir } from "../fitness/fitness-report.ts";
import type { RepoGit } from "../git/repo-git.ts";

/** A candidate prune would remove (or removed), and why. */
export type PrunedCandidate = { row: CandidateRow; why: string; worktree: string | null; reports: string | null };

/** Why a candidate may go: promoted, rolled back, failed or superseded; undefined when it is still wanted. */
export function pruneReason(row: CandidateRow): string | undefined {
  if (row.state === "promoted") return `promoted${row.promotion ? ` (${row.promotion})` : ""}`;
  if (row.state === "rolled-back") return `rolled back${row.promotion ? ` (${row.promotion})` : ""}`;
  if (row.state === "fail") return "failed the gate";
  if (row.supersededBy) return row.supersededBy === "main" ? "superseded: main holds the same tool files" : `superseded by ${row.supersededBy}`;
  return undefined;
}

/**
 * `org candidate prune`: the `cand/*` branches that are promoted, rolled back, failed or superseded (built more than
 * `olderThanDays` ago, when given), with their worktrees under `.org/worktrees/` and their reports under
 * `.org/fitness/<commit>/`. `dryRun` only lists them. Each branch is deleted only if it still names the commit
 * that was judged here. Branches in `keep` (a candidate instance runs one) are left out.
 */
export async function pruneCandidates(
  git: RepoGit,
  options: { dryRun: boolean; olderThanDays?: number; now?: Date; keep?: ReadonlySet<string>; signal?: AbortSignal },
): Promise<PrunedCandidate[]> {
  const { signal } = options;
  const now = (options.now ?? new Date()).getTime();
  const rows = await candidateStates(git, signal);
  const stillWanted = new Set(rows.filter((row) => pruneReason(row) === undefined).map((row) => row.commit));
  const chosen: PrunedCandidate[] = [];
  for (const row of rows) {
    const why = pruneReason(row);
    if (!why || options.keep?.has(row.branch)) continue;
    if (options.olderThanDays !== undefined && now - Date.parse(row.builtAt) < options.olderThanDays * 86_400_000) continue;
    checkCandidateBranch(row.branch);
    const worktree = candidateWorktreeDir(git.repoDir, row.branch);
    const reports = fitnessReportDir(git.repoDir, row.commit);
    chosen.push({
      row,
      why,
      worktree: existsSync(worktree) ? worktree : null,
      // A commit another kept branch names keeps its reports.
      reports: existsSync(reports) && !stillWanted.has(row.commit) ? reports : null,
    });
  }
  if (options.dryRun) return chosen;
  for (const entry of chosen) {
    await removeCandidate(git, entry.row.branch, entry.row.commit, entry.worktree, signal);
    if (entry.reports && lstatSync(entry.reports).isDirectory()) rmSync(entry.reports, { recursive: true, force: true });
  }
  return chosen;
}
