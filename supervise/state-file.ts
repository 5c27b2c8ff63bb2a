import { Database } from "bun:sqlite";
import { renameSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { processesHolding } from "../concurrency/open-files.ts";
import { type DatabaseStamp, isDamagedDatabaseError, openStampedDatabase } from "../security/stamped-database.ts";
import { takePidLock } from "../security/pid-lock.ts";
import { OrgError } from "../errors/org-error.ts";

// The file behind `SupervisorState`: opened, checked, and when damaged kept aside and begun anew — but only by a process
// no other one shares the file with. A reader (`org supervise status`, mute, apply) that met a damaged file used to move
// it aside while the running supervisor held it open; the supervisor went on writing into the moved file and its own
// check, answered from its page cache, said all was well. Now a file another process holds open is never moved: that
// process (the running supervisor) finds the damage itself with a connection of its own, and moves it aside.

/** The state file is not the supervisor's (another program's file, or an older layout). */
export class ForeignStateError extends Error {
  override name = "ForeignStateError";
}

/** The state file is damaged and another process holds it open, so it is left where it is; the message says who. */
export class StateHeldError extends OrgError {
  override name = "StateHeldError";
}

/** Serialises the moving aside of a damaged state file between processes that found it at once. */
const REPAIR_LOCK = "state-repair.lock";
const REPAIR_WAIT_MS = 10_000;

/** The first line of a damage report, short: `quick_check` can list thousands of pages. */
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n").slice(0, 2).join(" ").slice(0, 240);
}

/** Opens `path` as the supervisor's state: stamped, WAL, `quick_check` passing. Throws what is wrong. */
export function openCheckedState(path: string, stamp: DatabaseStamp): Database {
  return openStampedDatabase(path, stamp, {
    foreign: (at) => new ForeignStateError(`${at} is not the supervisor's state of this org version`),
    pragmas: ["PRAGMA synchronous = NORMAL"],
    check: (database) => {
      const rows = database.query<{ quick_check: string }, []>("PRAGMA quick_check").all();
      if (rows.length !== 1 || rows[0]?.quick_check !== "ok")
        throw new Error(`database disk image is malformed: ${rows[0]?.quick_check ?? "no answer"}`);
    },
  });
}

function isRebuildable(error: unknown): boolean {
  return error instanceof ForeignStateError || isDamagedDatabaseError(error);
}

/** The other processes holding the state file or its log open. */
export function otherHolders(path: string): number[] {
  const held = processesHolding([path, `${path}-wal`]);
  return [...new Set([...held.values()].flat())].filter((pid) => pid !== process.pid);
}

function withRepairLock<T>(path: string, work: () => T): T {
  const lockPath = join(dirname(path), REPAIR_LOCK);
  const deadline = Date.now() + REPAIR_WAIT_MS;
  for (;;) {
    const lock = takePidLock(lockPath, `org supervise: repairing ${path} (pid ${process.pid})`);
    if (lock.kind === "taken") {
      try {
        return work();
      } finally {
        lock.release();
      }
    }
    if (lock.kind === "stuck" || Date.now() > deadline)
      throw new StateHeldError(`${path} is damaged and ${lockPath} is held; try again, or remove the lock if no org supervise runs`);
    // Synchronous: the state is opened where no await is possible (a test's fixture); the wait is short and bounded.
    Bun.sleepSync(50);
  }
}

/** Moves a damaged SQLite file and its side files (-wal, -shm) aside as `<path>.damaged-<time>`; returns the kept path. */
export function keepDamaged(path: string, now: number): string {
  const kept = `${path}.damaged-${new Date(now).toISOString().replace(/[:.]/g, "")}`;
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      renameSync(`${path}${suffix}`, `${kept}${suffix}`);
    } catch {
      // no such side file
    }
  }
  return kept;
}

/**
 * Opens the state at `path`; a damaged or foreign file is moved aside (with its -wal and -shm, as `<path>.damaged-<time>`)
 * and begun anew, under a lock, and only when no other process holds it open: then StateHeldError names the holders,
 * and nothing is moved. `notice` says what was moved.
 */
export function openStateFile(path: string, stamp: DatabaseStamp, now: number): { db: Database; notice?: string } {
  try {
    return { db: openCheckedState(path, stamp) };
  } catch (error) {
    if (!isRebuildable(error)) throw error;
  }
  return withRepairLock(path, () => {
    let problem: unknown;
    try {
      // Another process may have begun it anew meanwhile.
      return { db: openCheckedState(path, stamp) };
    } catch (error) {
      if (!isRebuildable(error)) throw error;
      problem = error;
    }
    const holders = otherHolders(path);
    const why = problem instanceof ForeignStateError ? "is not the supervisor's" : "is damaged";
    if (holders.length > 0)
      throw new StateHeldError(
        `${path} ${why} (${firstLine(problem)}); pid ${holders.join(", ")} holds it open, so it is left where ` +
          `it is: the running org supervise keeps it aside and begins anew at its next round`,
      );
    const kept = keepDamaged(path, now);
    return {
      db: openCheckedState(path, stamp),
      notice: `the supervisor's state ${path} ${why} (${firstLine(problem)}); kept it as ${kept} and began a new one`,
    };
  });
}

/** The state at `path` opened as it is, unchecked: what a holder keeps working on when it may not move the file yet. */
export function openUncheckedState(path: string): Database {
  const database = new Database(path, { create: true, strict: true });
  database.exec("PRAGMA busy_timeout = 5000");
  return database;
}

/** The inode of the file at `path`, or undefined when there is none. */
export function inodeOf(path: string): number | undefined {
  return statSync(path, { throwIfNoEntry: false })?.ino;
}

/**
 * What is wrong with the state file a process holds open through `ino`: gone or replaced at its path, or damaged as a
 * new connection reads it (the holder's own connection answers from its page cache and misses damage to the file).
 * Undefined when it is well, or busy past the bound (looked at again next time).
 */
export function heldStateProblem(path: string, ino: number | undefined): string | undefined {
  const now = inodeOf(path);
  if (now === undefined) return `${path} is gone`;
  if (ino !== undefined && now !== ino) return `${path} is no longer the file this process holds open (it was moved or replaced)`;
  let fresh: Database | undefined;
  try {
    fresh = new Database(path, { readwrite: true, create: false, strict: true });
    fresh.exec("PRAGMA busy_timeout = 2000");
    const rows = fresh.query<{ quick_check: string }, []>("PRAGMA quick_check").all();
    return rows.length === 1 && rows[0]?.quick_check === "ok" ? undefined : `quick_check: ${firstLine(rows[0]?.quick_check ?? "no answer")}`;
  } catch (error) {
    if (isDamagedDatabaseError(error)) return firstLine(error);
    if (/SQLITE_BUSY|database is locked/i.test(String(error))) return undefined;
    throw error;
  } finally {
    fresh?.close();
  }
}
