import { isolatedGitEnvironment } from "./change-set.ts";

/**
 * Whether `diff` applies cleanly from the root of `repoDir`: undefined when `git apply --check` accepts it, else
 * git's words. Nothing is written: `--check` only reads, so the repository may be mounted read-only.
 */
export async function gitApplyCheck(repoDir: string, diff: Uint8Array, signal?: AbortSignal): Promise<string | undefined> {
  const child = Bun.spawn(["git", "-c", "core.hooksPath=/dev/null", "apply", "--check", "-"], {
    cwd: repoDir,
    env: isolatedGitEnvironment(),
    stdin: diff,
    stdout: "ignore",
    stderr: "pipe",
    ...(signal ? { signal } : {}),
  });
  const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  return exitCode === 0 ? undefined : stderr.trim().slice(0, 2_000) || `git apply --check exited ${exitCode}`;
}
