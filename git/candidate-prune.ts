import { existsSync, lstatSync, rmSync } from "node:fs";
import { join } from "node:path";
import { WORKTREES_DIR } from "../config/workspace-paths.ts";
import { checkCandidateBranch } from "./candidate-branch.ts";
import { type CandidateRow, candidateStates } from "./candidate-states.ts";
import { fitnessReportDir } from "./fitness-report.ts";
import type { RepoGit } from "./repo-git.ts";

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
    const worktree = join(git.repoDir, WORKTREES_DIR, row.branch.replace("/", "-"));
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

/** The worktree of a candidate (when there is one), then its branch, deleted only while it still names `commit`. */
async function removeCandidate(git: RepoGit, branch: string, commit: string, worktree: string | null, signal?: AbortSignal): Promise<void> {
  if (worktree) await git.removeWorktree(worktree, signal);
  await git.run(["update-ref", "-d", `refs/heads/${branch}`, commit], { signal });
}

/**
 * A candidate a build made and did not see judged (the build cut by a budget, or its run killed): half-made, it must
 * not stay to hold its tool's name. Its worktree and branch go, the branch only while it still names `commit` (a
 * branch moved since is someone else's). Returns whether it was removed.
 */
export async function discardCandidate(git: RepoGit, branch: string, commit: string, signal?: AbortSignal): Promise<boolean> {
  checkCandidateBranch(branch);
  const worktree = join(git.repoDir, WORKTREES_DIR, branch.replace("/", "-"));
  try {
    await removeCandidate(git, branch, commit, existsSync(worktree) ? worktree : null, signal);
    return true;
  } catch {
    return false;
  }
}
