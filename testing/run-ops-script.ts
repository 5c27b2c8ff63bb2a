import { join } from "node:path";

/** What an `ops/` script printed and how it exited. */
export type OpsScriptResult = { stdout: string; stderr: string; code: number; all: string };

/** Runs `<checkout>/ops/<name>` with bash, as a person types it, and collects its output and exit code. */
export async function runOpsScript(
  checkout: string,
  name: string,
  args: string[],
  options: { cwd: string; env: Record<string, string | undefined> },
): Promise<OpsScriptResult> {
  const child = Bun.spawn(["bash", join(checkout, "ops", name), ...args], { cwd: options.cwd, env: options.env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code, all: `${stdout}${stderr}` };
}
