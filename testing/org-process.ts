import { orgCommand } from "../config/org-bun-command.ts";

/** What one `org …` process said and how it ended. */
export type OrgRun = { stdout: string; stderr: string; exitCode: number | null; signal: string | null };

/**
 * Runs `org ARGS` as a real child process (this checkout's code or `checkoutDir`'s, isolated bun flags), stdin closed, NO_COLOR set on
 * top of this process's environment and `env`; killed after `timeoutMs`.
 */
export async function runOrgProcess(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; checkoutDir?: string } = {},
): Promise<OrgRun> {
  const child = Bun.spawn(orgCommand(args, options.checkoutDir ? { checkoutDir: options.checkoutDir } : {}), {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    timeout: options.timeoutMs ?? 120_000,
  });
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  await child.exited;
  return { stdout, stderr, exitCode: child.exitCode, signal: child.signalCode === null ? null : String(child.signalCode) };
}
