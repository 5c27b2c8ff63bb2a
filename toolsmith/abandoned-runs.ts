import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TOOLSMITH_WORK_DIR } from "../config/workspace-paths.ts";

/** Whether a process with this pid is alive on this machine. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the validation and run folders under `.org/toolsmith/` that a killed org left behind (kill -9 skips
 * every finally). Folders are named `run-<pid>-<hex>` or `tool-run-<pid>-<hex>`; only dead owners' go.
 */
export function removeAbandonedRuns(repoDir: string): string[] {
  const directory = join(repoDir, TOOLSMITH_WORK_DIR);
  if (!existsSync(directory)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(directory)) {
    const pid = Number(/^(?:tool-)?run-(\d+)-[0-9a-f]{8}$/.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    rmSync(join(directory, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
