import { initRepository } from "../git/init-repository.ts";
import { installedGitVersion } from "../git/installed-git-version.ts";
import { RepoGit } from "../git/repo-git.ts";

/** Whether `directory` is a git checkout. */
export function isCheckout(directory: string): boolean {
  return RepoGit.isCheckout(directory);
}

/** The repository of checkout `directory`, for a command's domain work; a folder that is none is refused, saying `whatToGive`. */
export function openCheckout(directory: string, whatToGive: string): RepoGit {
  return RepoGit.openCheckout(directory, whatToGive);
}

/** `directory` (its real path) when it is a git checkout; else the refusal, saying `whatToGive`. */
export function requireCheckout(directory: string, whatToGive: string): string {
  return openCheckout(directory, whatToGive).repoDir;
}

/** The repository at `directory`, checkout or not (promote, rollback, the gate and `candidate` take what `--repo` names). */
export function openRepository(directory: string): RepoGit {
  return new RepoGit(directory);
}

/**
 * A new repository in `dir` with `main` checked out and a first commit of `paths` (files already written there):
 * a throw-away repository for candidate branches, never org's own checkout.
 */
export function initCheckout(dir: string, first: { paths: readonly string[]; message: string }, signal?: AbortSignal): Promise<RepoGit> {
  return initRepository(dir, first, signal);
}

/** The commit of main when checkout `repoDir` is on main with no changes, as promotion needs; else the refusal saying what is not. */
export async function checkoutReadyOn(repoDir: string, signal?: AbortSignal): Promise<string> {
  // Loaded here: the ref-change journal and its schemas are no cost of the commands that only open a checkout.
  const { checkCheckoutReady } = await import("./ref-change.ts");
  return checkCheckoutReady(new RepoGit(repoDir), signal);
}

/** The git installed, as it names itself (`git version 2.39.5`), or undefined when there is none that runs. */
export function gitVersion(): string | undefined {
  return installedGitVersion();
}

/**
 * The workspace's paths that `isSecret` marks and git tracks, and those only in its last `commits` commits' history;
 * undefined when the workspace is no git repository.
 */
export async function secretPathsInGit(
  workspaceDir: string,
  isSecret: (path: string) => boolean,
  commits: number,
  signal: AbortSignal,
): Promise<{ tracked: string[]; committed: string[] } | undefined> {
  const git = new RepoGit(workspaceDir);
  if (!(await git.isRepository(signal))) return undefined;
  const tracked = (await git.trackedPaths(signal)).filter(isSecret);
  const committed = (await git.pathsInHistory(commits, signal)).filter(isSecret).filter((path) => !tracked.includes(path));
  return { tracked, committed };
}
