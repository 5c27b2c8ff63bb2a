import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { orgCommand } from "../config/org-bun-command.ts";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";

/**
 * Runs `org ARGS` as a real process (the launcher's bun flags, this checkout's main.ts) with a preload that records
 * every module it loaded: what the command printed, its exit code, and the modules, as paths relative to the checkout
 * (`node_modules/zod/v4/…`, `config/org-config.ts`). It runs in `cwd`, else in an empty folder of its own: a command
 * that works on the folder it runs in (`sandbox run`) must never make state in this checkout.
 */
export async function modulesLoadedBy(args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}) {
  const scratch = mkdtempSync(join(tmpdir(), "org-loaded-modules-"));
  try {
    const out = join(scratch, "modules.txt");
    const workspace = join(scratch, "workspace");
    mkdirSync(workspace);
    const [bun = "", ...rest] = orgCommand(args);
    const child = Bun.spawn([bun, `--preload=${join(import.meta.dir, "record-loaded-modules.ts")}`, ...rest], {
      cwd: options.cwd ?? workspace,
      env: { ...process.env, NO_COLOR: "1", ORG_TEST_LOADED_MODULES: out },
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
      timeout: options.timeoutMs ?? 60_000,
    });
    const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    const modules = readFileSync(out, "utf8")
      .split("\n")
      .filter((path) => path !== "" && !path.endsWith("record-loaded-modules.ts"))
      .map((path) => relative(CHECKOUT_DIR, path));
    return { stdout, stderr, exitCode, modules };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
