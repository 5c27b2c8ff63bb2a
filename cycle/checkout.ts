import { checkoutChanges, headRef } from "../git/checkout-files.ts";
import { RepoGit } from "../git/repo-git.ts";
import { PromotionRefusedError } from "./ref-change.ts";

/**
 * Main's commit when checkout `git` has `main` checked out at it with no changes to tracked or untracked files, as
 * promotion and rollback need (and `org doctor` asks); else the refusal saying what is not.
 */
export async function checkCheckoutReady(git: RepoGit, signal?: AbortSignal): Promise<string> {
  const head = (await headRef(git, signal)) ?? "";
  if (head !== "refs/heads/main") {
    throw new PromotionRefusedError(`the checkout at ${git.repoDir} is on ${head || "a detached HEAD"}, not main: check out main first`);
  }
  const main = await git.resolveCommit("refs/heads/main");
  if (!main) throw new PromotionRefusedError(`the repository at ${git.repoDir} has no main branch`);
  const changes = await checkoutChanges(git, { untracked: true, signal });
  if (changes.length > 0) {
    const files = changes.slice(0, 10).join("; ");
    throw new PromotionRefusedError(`main's checkout is not clean (${files}): commit, stash or remove these changes first`);
  }
  return main;
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
