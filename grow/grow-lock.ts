import { closeSync, constants, fsyncSync, linkSync, lstatSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { errorCode } from "../concurrency/error-code.ts";
import { GROW_DIR } from "../config/workspace-paths.ts";
import { isProcessAlive } from "../concurrency/process-alive.ts";
import { openPrivateFile, readPrivateFile } from "../security/private-state.ts";
import { growDir } from "./grow-state.ts";

// One `org grow` run at a time per workspace: `.org/grow/grow.lock` names its holder (pid, and the kernel's start
// time of that pid, so a pid reused by another process after a kill -9 is not taken for the holder). It is taken with
// O_EXCL; a dead holder's lock is moved aside under a name of this process's own (rename is atomic, so of two takers
// only one moves it), checked to be the dead one, and removed; a live lock moved by mistake is put back.

const LockFile = z.strictObject({ pid: z.int().positive(), start: z.string().max(32), since: z.iso.datetime(), command: z.string().max(200) });
export type GrowLockHolder = z.infer<typeof LockFile>;

/** Another grow run holds the lock; the message names it. */
export class GrowBusyError extends Error {
  override name = "GrowBusyError";
  readonly userFacing = true;
  constructor(
    message: string,
    readonly holder: GrowLockHolder,
  ) {
    super(message);
  }
}

/** The kernel's start time of a process (field 22 of /proc/PID/stat), or "" where there is no /proc. */
export function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

/** Whether the process a lock names still runs: its pid alive, and (where /proc says) started when the lock says. */
export function holderAlive(holder: GrowLockHolder): boolean {
  if (!isProcessAlive(holder.pid)) return false;
  const start = processStart(holder.pid);
  return holder.start === "" || start === "" || start === holder.start;
}

function lockPath(workspaceDir: string): string {
  return join(growDir(workspaceDir), "grow.lock");
}

/** Who holds the workspace's grow lock, if a live process does (looked at without making anything). */
export function growLockHolder(workspaceDir: string): GrowLockHolder | undefined {
  const path = join(workspaceDir, GROW_DIR, "grow.lock");
  if (!lstatSync(path, { throwIfNoEntry: false })) return undefined;
  const holder = readHolder(path);
  return holder && holderAlive(holder) ? holder : undefined;
}

function readHolder(path: string): GrowLockHolder | undefined {
  try {
    return LockFile.parse(JSON.parse(readPrivateFile(path)));
  } catch {
    return undefined;
  }
}

/**
 * Takes the workspace's grow lock for this process, or throws GrowBusyError naming the live holder. Returns what
 * releases it. `tookOver` says a dead run's lock was taken over (its proposals may say `building`).
 */
export function takeGrowLock(workspaceDir: string, command: string): { release(): void; tookOver: boolean } {
  const path = lockPath(workspaceDir);
  const mine: GrowLockHolder = { pid: process.pid, start: processStart(process.pid), since: new Date().toISOString(), command: command.slice(0, 200) };
  let tookOver = false;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      const fd = openPrivateFile(path, constants.O_WRONLY | constants.O_EXCL);
      try {
        writeSync(fd, JSON.stringify(mine));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return {
        tookOver,
        release: () => {
          // Only our own lock is removed: a run that lost it (moved aside by mistake) must not free another's.
          if (readHolder(path)?.pid === mine.pid) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
    }
    const holder = readHolder(path);
    if (holder && holder.pid !== process.pid && holderAlive(holder)) {
      throw new GrowBusyError(
        `another org grow run (pid ${holder.pid}, ${holder.command}, since ${holder.since}) holds ${path}; it ends by itself, or stop it`,
        holder,
      );
    }
    // Dead, torn or empty (killed between create and write): move it aside as ours, then check what was moved.
    const aside = `${path}.stale-${process.pid}-${attempt}`;
    try {
      renameSync(path, aside);
    } catch (error) {
      if (errorCode(error) === "ENOENT") continue;
      throw error;
    }
    const moved = readHolder(aside);
    if (moved && moved.pid !== process.pid && holderAlive(moved)) {
      // A live run took the lock between our read and the move: give it back (never over a newer one).
      try {
        linkSync(aside, path);
      } catch {}
      rmSync(aside, { force: true });
      throw new GrowBusyError(
        `another org grow run (pid ${moved.pid}, ${moved.command}, since ${moved.since}) holds ${path}; it ends by itself, or stop it`,
        moved,
      );
    }
    rmSync(aside, { force: true });
    tookOver = true;
  }
  throw new GrowBusyError(`could not take ${path}; if no org grow runs, remove it`, mine);
}
