import { existsSync } from "node:fs";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";
import { checkCandidateBranch } from "./candidate-branch.ts";
import { candidateWorktreeDir } from "./candidate-worktree.ts";
import type { RepoGit } from "./repo-git.ts";

/**
 * The worktree of a candidate (when there is one), then its branch, deleted only while it still names `commit`; once
 * the branch is gone, `candidate-removed` is told in the repository's event stream (every removal comes here: prune,
 * grow's discard).
 */
export async function removeCandidate(git: RepoGit, branch: string, commit: string, worktree: string | null, signal?: AbortSignal): Promise<void> {
  checkCandidateBranch(branch);
  if (worktree) await git.removeWorktree(worktree, signal);
  await git.run(["update-ref", "-d", `refs/heads/${branch}`, commit], { signal });
  publishWorkspaceEvent(git.repoDir, { type: "candidate-removed", branch });
}

/**
 * A candidate a build made and did not see judged (the build cut by a budget, or its run killed): half-made, it must
 * not stay to hold its tool's name. Its worktree and branch go, the branch only while it still names `commit` (a
 * branch moved since is someone else's). Returns whether it was removed.
 */
export async function discardCandidate(git: RepoGit, branch: string, commit: string, signal?: AbortSignal): Promise<boolean> {
  checkCandidateBranch(branch);
  const worktree = candidateWorktreeDir(git.repoDir, branch);
  try {
    await removeCandidate(git, branch, commit, existsSync(worktree) ? worktree : null, signal);
    return true;
  } catch {
    return false;
  }
}
