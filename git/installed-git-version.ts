import { spawnGitSync } from "./run-git.ts";

/** The git installed, as it names itself (`git version 2.39.5`), or undefined when there is none that runs. */
export function installedGitVersion(): string | undefined {
  try {
    const result = spawnGitSync(["--version"], { timeoutMs: 10_000 });
    return result.exitCode === 0 ? result.stdout.toString().trim().split("\n")[0] : undefined;
  } catch {
    return undefined;
  }
}
