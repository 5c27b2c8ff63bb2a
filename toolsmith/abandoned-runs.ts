import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { isProcessAlive } from "../concurrency/process-alive.ts";
import { TOOLSMITH_WORK_DIR } from "../config/workspace-paths.ts";

/** The validation and run folders under `.org/toolsmith/` whose org died (`run-<pid>-<hex>`, `tool-run-<pid>-<hex>`). */
export function abandonedRuns(repoDir: string): string[] {
  const directory = join(repoDir, TOOLSMITH_WORK_DIR);
  if (!existsSync(directory)) return [];
  return readdirSync(directory).filter((name) => {
    const pid = Number(/^(?:tool-)?run-(\d+)-[0-9a-f]{8}$/.exec(name)?.[1]);
    return Number.isSafeInteger(pid) && pid !== process.pid && !isProcessAlive(pid);
  });
}

/**
 * Removes the validation and run folders under `.org/toolsmith/` that a killed org left behind (kill -9 skips
 * every finally). Folders are named `run-<pid>-<hex>` or `tool-run-<pid>-<hex>`; only dead owners' go.
 */
export function removeAbandonedRuns(repoDir: string): string[] {
  const removed = abandonedRuns(repoDir);
  for (const name of removed) rmSync(join(repoDir, TOOLSMITH_WORK_DIR, name), { recursive: true, force: true });
  return removed;
}
