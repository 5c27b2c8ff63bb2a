import { existsSync } from "node:fs";
import { join } from "node:path";
import { WORKTREES_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { CANDIDATE_BRANCH_PATTERN, CandidateRefusedError, checkCandidateBranch } from "./candidate-branch.ts";
import type { RepoGit } from "./repo-git.ts";

/** A candidate's worktree, checked out at the branch's commit (detached, so the branch stays free to move or go). */
export type CandidateWorktree = { branch: string; commit: string; directory: string; reused: boolean };

/** The newest `cand/<UTC timestamp>` branch (their names sort by time), or undefined when there is none. */
export async function newestCandidateBranch(git: RepoGit, signal?: AbortSignal): Promise<string | undefined> {
  const listing = await git.run(["for-each-ref", "--format=%(refname:short)", "refs/heads/cand/"], { signal });
  return listing
    .split("\n")
    .map((line) => line.trim())
    .filter((name) => CANDIDATE_BRANCH_PATTERN.test(name))
    .sort()
    .at(-1);
}

/**
 * Makes or reuses `.org/worktrees/cand-<timestamp>` for a candidate branch, at the branch's commit. The
 * name is checked before any git call; a worktree left at another commit (the branch moved) is moved to it,
 * discarding changes made inside it.
 */
export async function prepareCandidateWorktree(git: RepoGit, branch: string, signal?: AbortSignal): Promise<CandidateWorktree> {
  checkCandidateBranch(branch);
  const commit = await git.resolveCommit(`refs/heads/${branch}`);
  if (!commit) throw new CandidateRefusedError(`there is no branch ${branch}; 'git branch --list "cand/*"' lists the candidates.`);
  ensurePrivateDir(join(git.repoDir, WORKTREES_DIR));
  const directory = join(git.repoDir, WORKTREES_DIR, branch.replace("/", "-"));
  const registered = (await git.run(["worktree", "list", "--porcelain"], { signal }))
    .split("\n")
    .some((line) => line === `worktree ${directory}`);
  if (registered && existsSync(directory)) {
    const head = (await git.run(["rev-parse", "HEAD"], { directory, signal })).trim();
    if (head !== commit) await git.run(["checkout", "--quiet", "--force", "--detach", commit, "--"], { directory, signal });
    await git.run(["clean", "--quiet", "-d", "--force", "-e", "node_modules", "-e", ".org"], { directory, signal });
    return { branch, commit, directory, reused: true };
  }
  await git.run(["worktree", "prune"], { signal });
  await git.run(["worktree", "add", "--detach", "--force", "--quiet", "--", directory, commit], { signal });
  return { branch, commit, directory, reused: false };
}
