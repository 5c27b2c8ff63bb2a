import { join } from "node:path";
import { GROW_DIR } from "../config/workspace-paths.ts";
import { type PidLockHolder, pidLockHolder, takePidLock } from "../security/pid-lock.ts";
import { processStart } from "../security/process-start.ts";
import { growDir } from "./grow-state.ts";
import { OrgError } from "../errors/org-error.ts";

// One `org grow` run at a time per workspace: `.org/grow/grow.lock` names its holder (security/pid-lock.ts).

export type GrowLockHolder = PidLockHolder;

/** Another grow run holds the lock; the message names it. */
export class GrowBusyError extends OrgError {
  override name = "GrowBusyError";
  constructor(
    message: string,
    readonly holder: GrowLockHolder,
  ) {
    super(message);
  }
}

function lockPath(workspaceDir: string): string {
  return join(growDir(workspaceDir), "grow.lock");
}

/** Who holds the workspace's grow lock, if a live process does (looked at without making anything). */
export function growLockHolder(workspaceDir: string): GrowLockHolder | undefined {
  return pidLockHolder(join(workspaceDir, GROW_DIR, "grow.lock"));
}

/**
 * Takes the workspace's grow lock for this process, or throws GrowBusyError naming the live holder. Returns what
 * releases it. `tookOver` says a dead run's lock was taken over (its proposals may say `building`).
 */
export function takeGrowLock(workspaceDir: string, command: string): { release(): void; tookOver: boolean } {
  const path = lockPath(workspaceDir);
  const lock = takePidLock(path, command);
  if (lock.kind === "taken") return lock;
  if (lock.kind === "stuck") {
    const mine = { pid: process.pid, start: processStart(process.pid), since: new Date().toISOString(), command };
    throw new GrowBusyError(`could not take ${path}; if no org grow runs, remove it`, mine);
  }
  const { holder } = lock;
  throw new GrowBusyError(
    `another org grow run (pid ${holder.pid}, ${holder.command}, since ${holder.since}) holds ${path}; it ends by itself, or stop it`,
    holder,
  );
}
