import { RepoGit } from "./repo-git.ts";

/**
 * A new repository in `dir` with `main` checked out and a first commit of `paths` (files already written there,
 * relative to `dir`): a throw-away repository for candidate branches, never org's own checkout.
 */
export async function initRepository(dir: string, first: { paths: readonly string[]; message: string }, signal?: AbortSignal): Promise<RepoGit> {
  const git = new RepoGit(dir);
  await git.run(["init", "--quiet", "--initial-branch=main"], { signal });
  await git.run(["add", "--", ...first.paths], { signal });
  await git.run(["commit", "--quiet", "-m", first.message], { signal });
  return git;
}
