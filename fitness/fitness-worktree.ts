import { randomBytes } from "node:crypto";
import { existsSync, rmSync, symlinkSync } from "node:fs";
import { ensurePrivateDir } from "../security/private-state.ts";
import { join } from "node:path";
import { WORKTREES_DIR } from "../config/workspace-paths.ts";
import { isProcessAlive } from "../concurrency/process-alive.ts";
import type { RepoGit } from "../git/repo-git.ts";

const LOCK_REASON = /^org fitness pid (\d+)$/;

async function removeWorktree(git: RepoGit, path: string): Promise<void> {
  await git.run(["worktree", "unlock", "--", path]).catch(() => {});
  try {
    await git.run(["worktree", "remove", "--force", "--", path]);
  } catch {
    rmSync(path, { recursive: true, force: true });
    await git.run(["worktree", "prune"]).catch(() => {});
  }
}

/** Removes the fitness worktrees of gates that died (locked with a dead pid), and prunes vanished ones. */
export async function pruneStaleFitnessWorktrees(git: RepoGit): Promise<string[]> {
  const out = await git.run(["worktree", "list", "--porcelain"]);
  const removed: string[] = [];
  for (const block of out.split("\n\n")) {
    const path = /^worktree (.*)$/m.exec(block)?.[1];
    const reason = /^locked (.*)$/m.exec(block)?.[1];
    if (!path?.startsWith(join(git.repoDir, WORKTREES_DIR, "fitness-"))) continue;
    const pid = reason ? Number(LOCK_REASON.exec(reason)?.[1]) : Number.NaN;
    if (Number.isInteger(pid) && isProcessAlive(pid)) continue;
    await removeWorktree(git, path);
    removed.push(path);
  }
  await git.run(["worktree", "prune"]).catch(() => {});
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
  const path = join(root, `fitness-${process.pid}-${randomBytes(4).toString("hex")}`);
  await git.run(["worktree", "add", "--detach", "--quiet", "--", path, commit], { signal });
  try {
    await git.run(["worktree", "lock", "--reason", `org fitness pid ${process.pid}`, "--", path], { signal });
    const modules = join(git.repoDir, "node_modules");
    if (existsSync(modules) && !existsSync(join(path, "node_modules"))) symlinkSync(modules, join(path, "node_modules"));
    return await use(path);
  } finally {
    await removeWorktree(git, path);
  }
}
