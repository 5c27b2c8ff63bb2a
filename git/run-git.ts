import { gitEnvironment } from "../config/environment.ts";

/** What one git process did: its output, its error text and how it exited. */
export type GitProcess = { stdout: Buffer; stderr: string; exitCode: number };

/** How git is run: where, what it reads, its environment (by default `gitEnvironment()`), and what may stop it. */
export type GitProcessOptions = {
  cwd: string;
  stdin?: string | Uint8Array;
  env?: Record<string, string>;
  /** Kills git when it fires: only for commands that write nothing (a killed writer could leave a lock file). */
  signal?: AbortSignal;
  timeoutMs?: number;
};

/**
 * Runs `git <args>` as its own process: the one way org runs git (RepoGit's commands, the start-up's candidate check,
 * `git apply --check`, `git --version`). No shell; what it reads is given whole, or it reads nothing.
 */
export async function spawnGit(args: readonly string[], options: GitProcessOptions): Promise<GitProcess> {
  const { stdin } = options;
  const child = Bun.spawn(["git", ...args], {
    cwd: options.cwd,
    env: options.env ?? gitEnvironment(),
    stdin: stdin === undefined ? "ignore" : typeof stdin === "string" ? Buffer.from(stdin) : stdin,
    stdout: "pipe",
    stderr: "pipe",
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).arrayBuffer(), new Response(child.stderr).text(), child.exited]);
  return { stdout: Buffer.from(stdout), stderr, exitCode };
}

/** `spawnGit` for a caller that cannot wait (`org doctor`'s table of programs): bounded by `timeoutMs`. */
export function spawnGitSync(args: readonly string[], options: { env?: Record<string, string>; timeoutMs: number }): GitProcess {
  const result = Bun.spawnSync(["git", ...args], {
    env: options.env ?? gitEnvironment(),
    stdout: "pipe",
    stderr: "pipe",
    timeout: options.timeoutMs,
  });
  return { stdout: Buffer.from(result.stdout), stderr: result.stderr.toString(), exitCode: result.exitCode ?? -1 };
}
