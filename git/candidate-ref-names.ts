import { CANDIDATE_REFS_PREFIX } from "./ref-names.ts";
import { spawnGit } from "./run-git.ts";

/**
 * The names of the refs under `refs/heads/cand/`, from one `git for-each-ref`; undefined when git fails. For a
 * start-up that only needs to know whether there are candidates (`org tool list`): it loads no RepoGit. Read-only,
 * so it needs none of RepoGit's serialising, and it runs no hook.
 */
export async function candidateRefNames(repoDir: string, signal?: AbortSignal): Promise<string[] | undefined> {
  const { stdout, exitCode } = await spawnGit(["for-each-ref", "--format=%(refname)", CANDIDATE_REFS_PREFIX], {
    cwd: repoDir,
    ...(signal ? { signal } : {}),
  });
  return exitCode === 0 ? stdout.toString().split("\n").filter(Boolean) : undefined;
}
