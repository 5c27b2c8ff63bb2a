import { existsSync } from "node:fs";
import { join } from "node:path";
import { waitForCommit } from "../fitness/instance-health.ts";
import type { CurrentInstance } from "./ref-change.ts";

/**
 * Current as promote and rollback restart it: the checkout's own `ops/start-current.sh` (run in its own
 * process group, bounded), then /health on `port` until it names the expected commit. Undefined, with a note,
 * when the checkout has no such script.
 */
export function currentInstance(
  repoDir: string,
  port: number,
  healthTimeoutMs: number,
  log: (line: string) => void,
  /** Words for the script, e.g. `--config FILE` (as current was started with). */
  scriptArgs: string[] = [],
): CurrentInstance | undefined {
  const script = join(repoDir, "ops", "start-current.sh");
  if (!existsSync(script)) {
    log(`note: ${script} does not exist, so current was not restarted`);
    return undefined;
  }
  return {
    async restart(signal) {
      const child = Bun.spawn(["bash", script, ...scriptArgs], {
        cwd: repoDir,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        detached: true,
      });
      const stop = () => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
      };
      const timer = setTimeout(stop, healthTimeoutMs + 30_000);
      signal?.addEventListener("abort", stop, { once: true });
      const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      clearTimeout(timer);
      signal?.removeEventListener("abort", stop);
      const said = `${out}${err}`.trim().split("\n").slice(-3).join(" / ");
      if (code !== 0) log(`ops/start-current.sh exited with ${code}${said ? `: ${said}` : ""}`);
    },
    waitHealthy: (commit, signal) => waitForCommit(port, commit, { timeoutMs: healthTimeoutMs, signal }),
  };
}
