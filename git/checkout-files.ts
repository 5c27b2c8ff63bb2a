import { join } from "node:path";
import type { RepoGit } from "./repo-git.ts";

/** The full ref the checkout has checked out (`refs/heads/main`), or undefined on a detached HEAD. */
export async function headRef(git: RepoGit, signal?: AbortSignal): Promise<string | undefined> {
  try {
    return (await git.run(["symbolic-ref", "--quiet", "HEAD"], { signal })).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The checkout's changes as `git status --porcelain` lines (untracked files too when `untracked`); none when clean. */
export async function checkoutChanges(git: RepoGit, options: { untracked: boolean; signal?: AbortSignal }): Promise<string[]> {
  const untracked = options.untracked ? "--untracked-files=all" : "--untracked-files=no";
  const status = (await git.run(["status", "--porcelain", untracked], { signal: options.signal })).trimEnd();
  return status === "" ? [] : status.split("\n");
}

/** The checkout's index and files brought from tree `from` to `to` (`read-tree -m -u`); throws when git refuses. */
export async function moveCheckoutFiles(git: RepoGit, from: string, to: string, signal?: AbortSignal): Promise<void> {
  await git.run(["read-tree", "-m", "-u", "--end-of-options", from, to], { signal });
}

/** The checkout's index and tracked files reset to `to` (`read-tree --reset -u`), whatever they were. */
export async function resetCheckoutFiles(git: RepoGit, to: string, signal?: AbortSignal): Promise<void> {
  await git.run(["read-tree", "--reset", "-u", "--end-of-options", to], { signal });
}

/** The path of the checkout's `index.lock` (in its git directory), which a git killed mid-write may leave. */
export async function indexLockPath(git: RepoGit, signal?: AbortSignal): Promise<string> {
  return join((await git.run(["rev-parse", "--absolute-git-dir"], { signal })).trim(), "index.lock");
}

/**
 * `merge-tree --write-tree --merge-base=BASE OURS THEIRS`: the tree, the conflicts, or `failed` with git's words when
 * this git cannot do it (2.39 has no `--merge-base`). No ref, index or file moves.
 */
export async function mergeTreeOnBase(
  git: RepoGit,
  ours: string,
  theirs: string,
  mergeBase: string,
  signal?: AbortSignal,
): Promise<{ tree: string } | { conflicts: true } | { failed: string }> {
  let out: string;
  try {
    out = await git.run(["merge-tree", "--write-tree", `--merge-base=${mergeBase}`, "--end-of-options", ours, theirs], { signal });
  } catch (error) {
    return { failed: error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error) };
  }
  const [tree, ...more] = out.split("\n").filter(Boolean);
  return tree === undefined || more.length > 0 ? { conflicts: true } : { tree };
}
