import { rmSync } from "node:fs";
import type { RepoGit } from "./repo-git.ts";

/** One worktree as `git worktree list --porcelain` describes it. */
export type Worktree = {
  path: string;
  head?: string;
  /** `refs/heads/…` when a branch is checked out there. */
  branch?: string;
  /** Why it is locked, when it is ("" for a lock without a reason). */
  locked?: string;
  /** Set when git finds its folder gone. */
  prunable?: boolean;
  main: boolean;
};

/** The repository's worktrees, its own checkout first (`main: true`). */
export async function listWorktrees(git: RepoGit, signal?: AbortSignal): Promise<Worktree[]> {
  const out = await git.run(["worktree", "list", "--porcelain"], { signal });
  const found: Worktree[] = [];
  for (const block of out.split("\n\n")) {
    const lines = block.split("\n");
    const path = lines.find((line) => line.startsWith("worktree "))?.slice("worktree ".length);
    if (path === undefined) continue;
    const value = (key: string) => {
      const line = lines.find((entry) => entry === key || entry.startsWith(`${key} `));
      return line === undefined ? undefined : line.slice(key.length).trim();
    };
    const head = value("HEAD");
    const branch = value("branch");
    const locked = value("locked");
    found.push({
      path,
      ...(head ? { head } : {}),
      ...(branch ? { branch } : {}),
      ...(locked !== undefined ? { locked } : {}),
      ...(value("prunable") !== undefined ? { prunable: true } : {}),
      main: found.length === 0,
    });
  }
  return found;
}

/** Removes a worktree whatever state it is in (locked, changed, half gone), then forgets the ones whose folders are gone. */
export async function removeWorktree(git: RepoGit, path: string, signal?: AbortSignal): Promise<void> {
  await git.run(["worktree", "unlock", "--", path], { signal }).catch(() => {});
  try {
    await git.run(["worktree", "remove", "--force", "--force", "--", path], { signal });
  } catch {
    rmSync(path, { recursive: true, force: true });
  }
  await pruneWorktrees(git, signal);
}

/** Forgets worktrees whose folders are gone (`git worktree prune`). */
export async function pruneWorktrees(git: RepoGit, signal?: AbortSignal): Promise<void> {
  await git.run(["worktree", "prune"], { signal }).catch(() => {});
}
