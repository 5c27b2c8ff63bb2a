import { closeSync, constants, fsyncSync, linkSync, lstatSync, renameSync, rmSync, writeSync } from "node:fs";
import { z } from "zod";
import { errorCode } from "../concurrency/error-code.ts";
import { openPrivateFile, readPrivateFile } from "./private-state.ts";
import { processRuns, processStart } from "./process-start.ts";

// A lock file naming its holder: the pid, and the kernel's start time of that pid, so a pid reused by another process
// after a kill -9 is not taken for the holder. It is taken with O_EXCL; a dead holder's lock is moved aside under a
// name of this process's own (rename is atomic, so of two takers only one moves it), checked to be the dead one, and
// removed; a live lock moved by mistake is put back. Used by `org grow` and by promote and rollback.

// `startedAt`: what promotion locks held before they named the start time; such a holder is still checked by pid.
const LockFile = z.object({
  pid: z.int().positive(),
  start: z.string().max(32).default(""),
  since: z.string().max(64).optional(),
  startedAt: z.string().max(64).optional(),
  command: z.string().max(200).default(""),
});
export type PidLockHolder = { pid: number; start: string; since: string; command: string };

/** Whether the process a lock names still runs: its pid alive, and (where /proc says) started when the lock says. */
function holderAlive(holder: PidLockHolder): boolean {
  return processRuns(holder.pid, holder.start);
}

function readHolder(path: string): PidLockHolder | undefined {
  try {
    const file = LockFile.parse(JSON.parse(readPrivateFile(path)));
    return { pid: file.pid, start: file.start, since: file.since ?? file.startedAt ?? "", command: file.command };
  } catch {
    return undefined;
  }
}

/** Who holds the lock at `path`, if a live process other than this one does (looked at without making anything). */
export function pidLockHolder(path: string): PidLockHolder | undefined {
  const state = pidLockState(path);
  return state.kind === "live" ? state.holder : undefined;
}

/** The lock taken (`release` frees it if it is still this process's), or the live process that holds it, or stuck. */
export type PidLock =
  | { kind: "taken"; release(): void; tookOver: boolean }
  | { kind: "busy"; holder: PidLockHolder }
  | { kind: "stuck"; path: string };

/** Takes the lock at `path` (its folder must exist) for this process, running `command`. */
export function takePidLock(path: string, command: string): PidLock {
  const mine: PidLockHolder = { pid: process.pid, start: processStart(process.pid), since: new Date().toISOString(), command: command.slice(0, 200) };
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
        kind: "taken",
        tookOver,
        release: () => {
          // Only our own lock is removed: a holder that lost it (moved aside by mistake) must not free another's.
          if (readHolder(path)?.pid === mine.pid) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
    }
    const holder = readHolder(path);
    if (holder && holder.pid !== process.pid && holderAlive(holder)) return { kind: "busy", holder };
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
      // A live holder took the lock between our read and the move: give it back (never over a newer one).
      try {
        linkSync(aside, path);
      } catch {}
      rmSync(aside, { force: true });
      return { kind: "busy", holder: moved };
    }
    rmSync(aside, { force: true });
    tookOver = true;
  }
  return { kind: "stuck", path };
}

/** What a lock file at `path` says now: nothing there, a live holder, or a holder that died (or a file torn mid-write). */
export function pidLockState(path: string): { kind: "absent" } | { kind: "live"; holder: PidLockHolder } | { kind: "dead"; holder?: PidLockHolder } {
  if (!lstatSync(path, { throwIfNoEntry: false })) return { kind: "absent" };
  const holder = readHolder(path);
  if (holder && holderAlive(holder)) return { kind: "live", holder };
  return holder ? { kind: "dead", holder } : { kind: "dead" };
}

/**
 * Clears the lock at `path` when its holder is dead, the way the next taker would: taken over (a live holder that took
 * it meanwhile keeps it) and released. Returns the dead holder it cleared, `busy` with a live one, or `absent`.
 */
export function clearDeadPidLock(
  path: string,
  command: string,
): { kind: "cleared"; holder?: PidLockHolder } | { kind: "busy"; holder: PidLockHolder } | { kind: "absent" } {
  const before = pidLockState(path);
  if (before.kind === "absent") return before;
  if (before.kind === "live") return { kind: "busy", holder: before.holder };
  const lock = takePidLock(path, command);
  if (lock.kind === "busy") return lock;
  if (lock.kind === "stuck") throw new Error(`could not take ${path} to clear it`);
  lock.release();
  return before.holder ? { kind: "cleared", holder: before.holder } : { kind: "cleared" };
}
