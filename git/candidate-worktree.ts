import { existsSync } from "node:fs";
import { join } from "node:path";
import { ORG_DIR, WORKTREES_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { isObjectId } from "./ref-names.ts";
import { CandidateRefusedError, checkCandidateBranch } from "./candidate-branch.ts";
import type { RepoGit } from "./repo-git.ts";

/** A candidate's worktree, checked out at the branch's commit (detached, so the branch stays free to move or go). */
export type CandidateWorktree = { branch: string; commit: string; directory: string; reused: boolean };

/** The newest `cand/<UTC timestamp>` branch (their names sort by time), or undefined when there is none. */
export async function newestCandidateBranch(git: RepoGit, signal?: AbortSignal): Promise<string | undefined> {
  return (await git.candidateRefs(signal)).refs.map((ref) => ref.branch).at(-1);
}

/** Where a candidate branch's worktree is: `.org/worktrees/cand-<timestamp>` of the repository. */
export function candidateWorktreeDir(repoDir: string, branch: string): string {
  return join(repoDir, WORKTREES_DIR, branch.replace("/", "-"));
}

/**
 * Makes or reuses `.org/worktrees/cand-<timestamp>` for a candidate branch, at `commit` when given (the
 * exact commit a caller has checked; the branch may move meanwhile), else at the branch's commit. The name is
 * checked before any git call; a worktree left at another commit is moved to it, discarding changes and
 * untracked or ignored files made inside it (node_modules and .org/ stay). Its HEAD is checked afterwards.
 */
export async function prepareCandidateWorktree(git: RepoGit, branch: string, signal?: AbortSignal, at?: string): Promise<CandidateWorktree> {
  checkCandidateBranch(branch);
  const commit = at ?? (await git.resolveCommit(`refs/heads/${branch}`));
  if (!commit || !isObjectId(commit)) throw new CandidateRefusedError(`there is no branch ${branch}; 'org candidate list' lists the candidates.`);
  ensurePrivateDir(join(git.repoDir, WORKTREES_DIR));
  const directory = candidateWorktreeDir(git.repoDir, branch);
  const registered = (await git.worktrees(signal)).some((worktree) => worktree.path === directory);
  if (registered && existsSync(directory)) {
    const head = (await git.run(["rev-parse", "HEAD"], { directory, signal })).trim();
    if (head !== commit) await git.run(["checkout", "--quiet", "--force", "--detach", commit, "--"], { directory, signal });
    // -x too: an ignored .env or bunfig.local left in the worktree must not reach the server started there.
    await git.run(["clean", "--quiet", "-d", "-x", "--force", "-e", "node_modules", "-e", ORG_DIR], { directory, signal });
    await checkHead(git, directory, commit, signal);
    return { branch, commit, directory, reused: true };
  }
  await git.pruneWorktrees(signal);
  await git.addWorktree(directory, commit, { signal });
  await checkHead(git, directory, commit, signal);
  return { branch, commit, directory, reused: false };
}

async function checkHead(git: RepoGit, directory: string, commit: string, signal?: AbortSignal): Promise<void> {
  const head = (await git.run(["rev-parse", "HEAD"], { directory, signal })).trim();
  if (head !== commit)
    throw new CandidateRefusedError(
      `the worktree ${directory} is at ${head.slice(0, 12)}, not the checked commit ${commit.slice(0, 12)}; nothing was started`,
    );
}
