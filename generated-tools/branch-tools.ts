import { branchRef } from "../git/ref-names.ts";
import { RepoGit } from "../git/repo-git.ts";
import type { CatalogEntry } from "./catalog-entry.ts";
import { candidateTools, type LiveCandidateNames, type ToolAtRef, toolsAtRef } from "./tool-catalog.ts";
import { OrgError } from "../errors/org-error.ts";

/** A branch a command was told to read tools at is not in the repository. */
export class NoSuchBranchError extends OrgError {
  override name = "NoSuchBranchError";

  constructor(branch: string, repoDir: string) {
    super(`no branch ${branch} in ${repoDir}; see org tool list`);
  }
}

/** Refuses, naming the first, a branch of `branches` that `git` does not have. */
export async function requireBranches(git: RepoGit, branches: readonly string[], repoDir = git.repoDir): Promise<void> {
  for (const branch of branches) if ((await git.resolveCommit(branchRef(branch))) === undefined) throw new NoSuchBranchError(branch, repoDir);
}

/** The tools on `branch` of checkout `repoDir`, read and checked (a folder that is no checkout is refused, saying `whatToGive`). */
export async function toolsOnBranch(
  repoDir: string,
  branch: string,
  whatToGive: string,
  signal?: AbortSignal,
): Promise<{ tools: Map<string, ToolAtRef>; repoDir: string }> {
  const git = RepoGit.openCheckout(repoDir, whatToGive);
  await requireBranches(git, [branch], repoDir);
  return { tools: await toolsAtRef(git, branchRef(branch), signal), repoDir: git.repoDir };
}

/** The candidate tools of checkout `repoDir`; none when it is no checkout or they cannot be read. */
export async function candidateToolsIn(repoDir: string, liveNames: LiveCandidateNames, signal?: AbortSignal): Promise<CatalogEntry[]> {
  if (!RepoGit.isCheckout(repoDir)) return [];
  return await candidateTools(new RepoGit(repoDir), liveNames, signal).catch(() => []);
}
