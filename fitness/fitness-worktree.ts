import { existsSync, symlinkSync } from "node:fs";
import { ensurePrivateDir } from "../security/private-state.ts";
import { join } from "node:path";
import { WORKTREES_DIR } from "../config/workspace-paths.ts";
import { isProcessAlive } from "../concurrency/process-alive.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { randomHex } from "../concurrency/random-hex.ts";

const LOCK_REASON = /^org fitness pid (\d+)$/;

/** Removes the fitness worktrees of gates that died (locked with a dead pid), and prunes vanished ones. */
export async function pruneStaleFitnessWorktrees(git: RepoGit): Promise<string[]> {
  const removed: string[] = [];
  for (const { path, locked } of await git.worktrees()) {
    if (!path.startsWith(join(git.repoDir, WORKTREES_DIR, "fitness-"))) continue;
    const pid = locked ? Number(LOCK_REASON.exec(locked)?.[1]) : Number.NaN;
    if (Number.isInteger(pid) && isProcessAlive(pid)) continue;
    await git.removeWorktree(path);
    removed.push(path);
  }
  await git.pruneWorktrees();
  return removed;
}

/**
 * Runs `use` in a fresh detached worktree of exactly `commit` under `.org/worktrees/`, locked with a reason
 * that names this pid (a later gate removes it if this one dies), with `node_modules` linked from the current
 * checkout (the protected core keeps package.json unchanged). Nothing the candidate's own worktree carries
 * (logs, reports, coverage files) is seen. Removed afterwards whatever happens.
 */
export async function withFitnessWorktree<T>(git: RepoGit, commit: string, use: (directory: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const root = join(git.repoDir, WORKTREES_DIR);
  ensurePrivateDir(root);
  const path = join(root, `fitness-${process.pid}-${randomHex(4)}`);
  await git.addWorktree(path, commit, { lockReason: `org fitness pid ${process.pid}`, signal });
  try {
    const modules = join(git.repoDir, "node_modules");
    if (existsSync(modules) && !existsSync(join(path, "node_modules"))) symlinkSync(modules, join(path, "node_modules"));
    return await use(path);
  } finally {
    await git.removeWorktree(path);
  }
}
