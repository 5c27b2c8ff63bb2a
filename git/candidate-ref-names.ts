import { CANDIDATE_REFS_PREFIX } from "./ref-names.ts";

/**
 * The names of the refs under `refs/heads/cand/`, from one `git for-each-ref`; undefined when git fails. For a
 * start-up that only needs to know whether there are candidates (`org tool list`): it spawns git itself and loads
 * neither simple-git nor RepoGit. Read-only, so it needs none of RepoGit's serialising, and it runs no hook.
 */
export async function candidateRefNames(repoDir: string, signal?: AbortSignal): Promise<string[] | undefined> {
  const child = Bun.spawn(["git", "for-each-ref", "--format=%(refname)", CANDIDATE_REFS_PREFIX], {
    cwd: repoDir,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "ignore",
    ...(signal ? { signal } : {}),
  });
  const [stdout, exitCode] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  return exitCode === 0 ? stdout.split("\n").filter(Boolean) : undefined;
}
