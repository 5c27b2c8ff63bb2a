import { dirname } from "node:path";
import { executableSearchPath } from "../config/environment.ts";
import { spawnGit } from "./run-git.ts";

/**
 * Whether `diff` applies cleanly from the root of `repoDir`: undefined when `git apply --check` accepts it, else
 * git's words. Nothing is written: `--check` only reads, so the repository may be mounted read-only.
 */
export async function gitApplyCheck(repoDir: string, diff: Uint8Array, signal?: AbortSignal): Promise<string | undefined> {
  const { stderr, exitCode } = await spawnGit(["-c", "core.hooksPath=/dev/null", "apply", "--check", "-"], {
    cwd: repoDir,
    // Run in a folder of a larger repository, git apply would take paths from that repository's root and skip,
    // as a success, every path outside the folder: git may not look above the repository it was given.
    env: { ...isolatedGitEnvironment(), GIT_CEILING_DIRECTORIES: dirname(repoDir) },
    stdin: diff,
    ...(signal ? { signal } : {}),
  });
  return exitCode === 0 ? undefined : stderr.trim().slice(0, 2_000) || `git apply --check exited ${exitCode}`;
}

/** git's environment for org's own checks: no user or system config, a fixed locale. */
function isolatedGitEnvironment(): Record<string, string> {
  return {
    PATH: executableSearchPath(),
    HOME: "/nonexistent",
    LC_ALL: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
  };
}
