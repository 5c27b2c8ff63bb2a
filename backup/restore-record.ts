import { closeSync, constants, lstatSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { ownerGone } from "../security/owned-temp-dir.ts";
import { processStart } from "../security/process-start.ts";
import { openPrivateFile, orgDirIdentity, readPrivateFile, writePrivateFile } from "../security/private-state.ts";

// `org restore` writes this record into `--to`'s `.org/` before it writes anything else there, and names in it each
// entry of `--to` it makes before it makes it. A rerun after a restore was killed clears exactly those entries, and
// only when the record is this folder's own: it names the folder's real path and its `.org/`'s device, inode and birth
// time, which no clone, archive or copy makes again, and the write view never writes `.org/`. A folder named like a
// staging folder, or a record that came with the folder, clears nothing.

/** The record's file name, in `--to`'s `.org/`. */
export const RESTORE_RECORD = "restore-record.json";
/** Where a restore keeps the backup's git bundle while it builds the checkout, beside the record. */
export const RESTORE_BUNDLE = "restore.bundle";
/** Where a restore keeps the workspace's org.config.json while it builds the checkout (which would write over it), beside the record. */
export const RESTORE_CONFIG = "restore.config.json";

// One entry of `--to`: a plain name, never a path.
const EntryName = z.string().regex(/^(?!\.{1,2}$)[^/\0]{1,255}$/);

const RestoreRecord = z.strictObject({
  version: z.literal(1),
  /** The restore that wrote it: its pid and the kernel's start time of that process ("" where /proc does not say). */
  pid: z.int().positive(),
  start: z.string().max(40),
  /** `--to`'s real path, and its `.org/` folder as the kernel made it (`orgDirIdentity`). */
  folder: z.string().max(4096),
  stateFolder: z.string().max(200),
  /** The entries of `--to` the restore made, or is about to make. */
  made: z.array(EntryName).max(100_000),
});
export type RestoreRecord = z.infer<typeof RestoreRecord>;

const recordPath = (to: string) => join(to, ORG_DIR, RESTORE_RECORD);

/**
 * Starts the record of a restore into `to`, whose `.org/` exists: this process, the folder, and the entries it will make
 * (`.org` among them). Made exclusively, so a second restore into the same folder fails here: undefined.
 */
export function beginRestoreRecord(to: string, made: readonly string[]): RestoreRecord | undefined {
  const record: RestoreRecord = {
    version: 1,
    pid: process.pid,
    start: processStart(process.pid),
    folder: realpathSync(to),
    stateFolder: orgDirIdentity(to),
    made: [...new Set([ORG_DIR, ...made])],
  };
  try {
    closeSync(openPrivateFile(recordPath(to), constants.O_WRONLY | constants.O_EXCL));
  } catch {
    return undefined;
  }
  writePrivateFile(recordPath(to), `${JSON.stringify(record)}\n`, { durable: true });
  return record;
}

/** Adds `names` to what the record says the restore made, before it makes them. */
export function recordMade(to: string, record: RestoreRecord, names: readonly string[]): RestoreRecord {
  const next = { ...record, made: [...new Set([...record.made, ...names])] };
  writePrivateFile(recordPath(to), `${JSON.stringify(next)}\n`, { durable: true });
  return next;
}

/**
 * The record of a restore into `to`, when one there is this folder's own: a plain 0600 file of this user's that parses,
 * naming `to`'s real path and its `.org/` as it is. Undefined otherwise (none, or one that came with the folder).
 */
export function readRestoreRecord(to: string): RestoreRecord | undefined {
  try {
    const stat = lstatSync(recordPath(to));
    if (!stat.isFile() || (stat.mode & 0o077) !== 0 || stat.uid !== process.getuid?.()) return undefined;
    const parsed = RestoreRecord.safeParse(JSON.parse(readPrivateFile(recordPath(to))));
    if (!parsed.success) return undefined;
    return parsed.data.folder === realpathSync(to) && parsed.data.stateFolder === orgDirIdentity(to) ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the restore that wrote the record has ended (killed, or its pid now another process's). */
export function restoreGone(record: RestoreRecord): boolean {
  return ownerGone({ pid: record.pid, start: record.start });
}

/** Removes from `to` the entries the record names (`.org`, holding the record, last); returns how many were there. */
export function clearRestored(to: string, record: RestoreRecord): number {
  const present = record.made.filter((name) => lstatSync(join(to, name), { throwIfNoEntry: false }) !== undefined);
  for (const name of [...present.filter((name) => name !== ORG_DIR), ...present.filter((name) => name === ORG_DIR)])
    rmSync(join(to, name), { recursive: true, force: true });
  return present.length;
}
