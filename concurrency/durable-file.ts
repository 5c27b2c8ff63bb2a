import { closeSync, constants, fchmodSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { errorCode } from "./error-code.ts";
import { randomHex } from "./random-hex.ts";

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = constants;

/**
 * How a write opens its new file and its folder: by plain path (no link followed, 0600), or through a private folder's
 * checked descriptors (`security/private-state.ts`).
 */
export type FileOpener = { openNew(path: string): number; openFolder(path: string): number };

/** Plain paths: a new file made 0600 whatever the umask, no link followed; the folder as a directory. */
export const PLAIN_FILES: FileOpener = {
  openNew(path) {
    const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    fchmodSync(fd, 0o600);
    return fd;
  },
  openFolder: (path) => openSync(path, O_RDONLY | O_DIRECTORY),
};

/** How a write is made: durable (the file, then its folder, fsynced), and how its files are opened. */
export type WriteOptions = { durable?: boolean; opener?: FileOpener };

function writeAll(fd: number, text: string | Uint8Array): void {
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  for (let written = 0; written < bytes.byteLength; ) written += writeSync(fd, bytes, written);
}

/** Fsyncs the folder of `path`, so that a rename or link into it outlives a crash. */
function syncFolderOf(path: string, opener: FileOpener): void {
  const folder = opener.openFolder(dirname(path));
  try {
    fsyncSync(folder);
  } finally {
    closeSync(folder);
  }
}

/**
 * Writes `text` to a new file beside `path` (fsynced when `durable`) and returns its path; the caller places it. Its
 * name, `.<name>.<pid>.<8 hex>.tmp`, tells the supervisor and serve's sweep whose leftover it is.
 */
function writeTemporaryBeside(path: string, text: string | Uint8Array, durable: boolean, opener: FileOpener): string {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomHex(4)}.tmp`);
  const fd = opener.openNew(temporary);
  try {
    writeAll(fd, text);
    if (durable) fsyncSync(fd);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  } finally {
    closeSync(fd);
  }
  return temporary;
}

/**
 * Replaces the file `path` with `text` atomically: a new 0600 file beside it, renamed over it (a link there is replaced
 * itself, never its target). With `durable`, the new file and then its folder are fsynced, so a crash leaves the old
 * file or the new one whole. The one way org writes a file whole, with `createFile`.
 */
export function replaceFile(path: string, text: string | Uint8Array, options: WriteOptions = {}): void {
  const opener = options.opener ?? PLAIN_FILES;
  const full = resolve(path);
  const temporary = writeTemporaryBeside(full, text, options.durable === true, opener);
  try {
    renameSync(temporary, full);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  if (options.durable) syncFolderOf(full, opener);
}

/**
 * Writes `text` as a new file at the first of `paths` (names in one folder) that is free, atomically and never over
 * another file (written beside it, then linked into place), fsynced with its folder when `durable`; returns the path
 * taken, or undefined when every one is taken (a job's result, a key, once written, stays the only one).
 */
export function createFile(paths: Iterable<string>, text: string | Uint8Array, options: WriteOptions = {}): string | undefined {
  const opener = options.opener ?? PLAIN_FILES;
  let temporary: string | undefined;
  try {
    for (const path of paths) {
      const full = resolve(path);
      temporary ??= writeTemporaryBeside(full, text, options.durable === true, opener);
      try {
        linkSync(temporary, full);
      } catch (error) {
        if (errorCode(error) === "EEXIST") continue;
        throw error;
      }
      if (options.durable) syncFolderOf(full, opener);
      return full;
    }
    return undefined;
  } finally {
    if (temporary !== undefined) rmSync(temporary, { force: true });
  }
}
