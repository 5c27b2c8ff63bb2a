/** The git installed, as it names itself (`git version 2.39.5`), or undefined when there is none that runs. */
export function installedGitVersion(): string | undefined {
  try {
    const result = Bun.spawnSync(["git", "--version"], { stdout: "pipe", stderr: "pipe" });
    return result.exitCode === 0 ? result.stdout.toString().trim().split("\n")[0] : undefined;
  } catch {
    return undefined;
  }
}
