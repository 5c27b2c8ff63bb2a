import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { resolve, sep } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { createFile, type FileOpener, replaceFile } from "../concurrency/durable-file.ts";
import { errorCode } from "../concurrency/error-code.ts";
import { OrgError } from "../errors/org-error.ts";

// Every file org keeps under `.org/` (transcripts, history, audit log, registry, fitness reports, journal,
// worktree and toolsmith folders) goes through here: `.org` and every folder below it must be a real
// directory of the user running org, mode 0700; files are opened without following links and are 0600.
// A planted link (say `.org/history` -> ~/.bashrc, committed to a repository or made by another user of a
// shared folder) is refused with its path; nothing is written through it.

/** `.org` or something under it is not org's private state: a link, a file, or another user's. */
export class PrivateStateError extends OrgError {
  override name = "PrivateStateError";
}

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;

/**
 * Where the private part of `path` begins: the last `.org` component, or, for a path with none (a folder a
 * test or a command line names), the path's own last component. Everything above is the user's to choose.
 */
function split(path: string): { base: string; privateParts: string[] } {
  const parts = resolve(path)
    .split(sep)
    .filter((part) => part !== "");
  let start = parts.lastIndexOf(ORG_DIR);
  if (start < 0) start = parts.length - 1;
  return { base: `${sep}${parts.slice(0, start).join(sep)}`, privateParts: parts.slice(start) };
}

function uid(): number {
  return process.getuid?.() ?? 0;
}

function describe(error: unknown, path?: string): string {
  const code = errorCode(error);
  if (path !== undefined && (code === "ENOTDIR" || code === "ELOOP")) {
    try {
      if (lstatSync(path).isSymbolicLink()) return "it is a symbolic link";
    } catch {
      // gone meanwhile: the errno says enough
    }
  }
  if (code === "ELOOP") return "it is a symbolic link";
  if (code === "ENOTDIR") return "it is not a directory (a file or a link)";
  if (code === "ENXIO") return "it is a pipe or socket, not a plain file";
  return error instanceof Error ? error.message : String(error);
}

function refuse(path: string, reason: string): PrivateStateError {
  return new PrivateStateError(
    `${path} is org's private state and ${reason}; org writes nothing there. Remove it (org makes it again, ` +
      `owned by you, mode 0700 for folders and 0600 for files) or run org as its owner.`,
  );
}

/** Opens `name` under the directory `parentFd` as a directory without following a link, making it 0700 when missing. */
function openPrivateChild(parentFd: number, name: string, shown: string): number {
  const path = `/proc/self/fd/${parentFd}/${name}`;
  const open = () => openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  let fd: number;
  try {
    fd = open();
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw refuse(shown, describe(error, path));
    try {
      // mkdir never follows a link in its last component: one planted meanwhile makes it fail (EEXIST), then the open refuses it.
      mkdirSync(path, { mode: 0o700 });
    } catch (mkdirError) {
      if (errorCode(mkdirError) !== "EEXIST") throw mkdirError;
    }
    try {
      fd = open();
    } catch (againError) {
      throw refuse(shown, describe(againError, path));
    }
  }
  try {
    const stat = fstatSync(fd);
    if (stat.uid !== uid()) throw refuse(shown, `is owned by uid ${stat.uid}, not by the user running org (uid ${uid()})`);
    if ((stat.mode & 0o077) !== 0) fchmodSync(fd, 0o700);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** A descriptor of the private directory `path` (made 0700 when missing, tightened when looser); close it. */
function openPrivateDirectory(path: string): number {
  const { base, privateParts } = split(path);
  mkdirSync(base, { recursive: true });
  let fd = openSync(base, O_RDONLY | O_DIRECTORY);
  let shown = base;
  try {
    for (const part of privateParts) {
      shown = `${shown === sep ? "" : shown}${sep}${part}`;
      const child = openPrivateChild(fd, part, shown);
      closeSync(fd);
      fd = child;
      if (part === ORG_DIR) writeIgnoreFile(fd, shown);
    }
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** `.org/.gitignore` holding `*`, so the state folder stays out of `git status` in any repository. */
function writeIgnoreFile(orgFd: number, shown: string): void {
  let fd: number;
  try {
    fd = openSync(`/proc/self/fd/${orgFd}/.gitignore`, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  } catch (error) {
    if (errorCode(error) === "EEXIST") return;
    throw refuse(`${shown}${sep}.gitignore`, describe(error));
  }
  try {
    writeSync(fd, "*\n");
  } finally {
    closeSync(fd);
  }
}

/** Makes `path` (under `.org/`) and the folders between it and `.org` private directories; returns `path`. */
export function ensurePrivateDir(path: string): string {
  closeSync(openPrivateDirectory(path));
  return path;
}

/**
 * `<dir>/.org/` as the kernel made it: its device, inode and birth time, or "none" when it is not a folder. No clone
 * or archive, even one unpacked at the same path, can make them again, so a record that names them (an MCP trust,
 * a change in the journal) was written for this very folder.
 */
export function orgDirIdentity(dir: string): string {
  try {
    const stat = lstatSync(resolve(dir, ORG_DIR), { bigint: true });
    return stat.isDirectory() ? `${stat.dev}:${stat.ino}:${stat.birthtimeNs}` : "none";
  } catch {
    return "none";
  }
}

/** Makes `<dir>/.org/`, 0700 and the running user's, with a `*` ignore file inside; returns it. */
export function ensureOrgDir(dir: string): string {
  return ensurePrivateDir(resolve(dir, ORG_DIR));
}

/**
 * Opens the file `path` under `.org/` for writing without following a link in any component: `flags` as for
 * openSync's numeric form (O_CREAT implied), created 0600; an existing file that is not a plain file of this
 * user's with one link is refused, one looser than 0600 is tightened through the descriptor.
 */
export function openPrivateFile(path: string, flags: number = O_WRONLY | O_APPEND): number {
  return openPrivate(path, flags | O_CREAT);
}

function openPrivate(path: string, flags: number): number {
  const full = resolve(path);
  const slash = full.lastIndexOf(sep);
  const directory = openPrivateDirectory(full.slice(0, slash) || sep);
  const name = full.slice(slash + 1);
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted at the path fails at once instead of blocking org.
    fd = openSync(`/proc/self/fd/${directory}/${name}`, flags | O_NOFOLLOW | O_NONBLOCK, 0o600);
  } catch (error) {
    const code = errorCode(error);
    // O_EXCL meets a link as EEXIST too: say it is a link rather than let the caller think the file is there.
    if (code === "EEXIST" && lstatSync(`/proc/self/fd/${directory}/${name}`, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw refuse(full, "it is a symbolic link");
    }
    throw code === "EEXIST" || code === "ENOENT" ? error : refuse(full, describe(error));
  } finally {
    closeSync(directory);
  }
  try {
    checkPrivateFile(fd, full);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function checkPrivateFile(fd: number, shown: string): void {
  const stat = fstatSync(fd);
  if (!stat.isFile()) throw refuse(shown, "is not a plain file");
  if (stat.uid !== uid()) throw refuse(shown, `is owned by uid ${stat.uid}, not by the user running org (uid ${uid()})`);
  if (stat.nlink > 1) throw refuse(shown, "has other hard links, so writing it would change a file elsewhere");
  if ((stat.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
}

function writeAll(fd: number, text: string | Uint8Array): void {
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  for (let written = 0; written < bytes.byteLength; ) written += writeSync(fd, bytes, written);
}

/** The text of the private file `path`, read without following a link; ENOENT as from readFileSync when missing. */
export function readPrivateFile(path: string): string {
  const fd = openPrivate(path, O_RDONLY);
  try {
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

/** The first `maxBytes` bytes of the private file `path` and its size, read without following a link. */
export function readPrivateFileStart(path: string, maxBytes: number): { text: string; size: number } {
  const fd = openPrivate(path, O_RDONLY);
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(size, maxBytes));
    let read = 0;
    while (read < buffer.length) {
      const got = readSync(fd, buffer, read, buffer.length - read, read);
      if (got === 0) break;
      read += got;
    }
    return { text: buffer.subarray(0, read).toString("utf8"), size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads the private file `path` backwards, without following a link: `take(bytes, at)` gets each chunk of at most
 * `chunkBytes` (the bytes from offset `at`), from `end` (default the file's end) towards the start, until it returns
 * false or the start is reached. Returns the file's size. One open file for all, so the chunks are of one file.
 */
export function readPrivateFileBackwards(
  path: string,
  take: (bytes: Buffer, at: number) => boolean,
  options: { end?: number; chunkBytes?: number } = {},
): number {
  const fd = openPrivate(path, O_RDONLY);
  try {
    const size = fstatSync(fd).size;
    const chunk = options.chunkBytes ?? 64 * 1024;
    let end = Math.min(options.end ?? size, size);
    while (end > 0) {
      const at = Math.max(0, end - chunk);
      const buffer = Buffer.alloc(end - at);
      let read = 0;
      while (read < buffer.length) {
        const got = readSync(fd, buffer, read, buffer.length - read, at + read);
        if (got === 0) break;
        read += got;
      }
      if (!take(buffer.subarray(0, read), at)) break;
      end = at;
    }
    return size;
  } finally {
    closeSync(fd);
  }
}

/** Appends `text` to the private file `path` (one write for a short line). */
export function appendPrivateFile(path: string, text: string): void {
  const fd = openPrivateFile(path, O_WRONLY | O_APPEND);
  try {
    writeAll(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Files under `.org/` opened through the private folder's checked descriptors. */
const PRIVATE_FILES: FileOpener = {
  openNew: (path) => openPrivateFile(path, O_WRONLY | O_EXCL | O_TRUNC),
  openFolder: (path) => openPrivateDirectory(path),
};

/**
 * Replaces the private file `path` with `text` atomically (`replaceFile`, opened as private state): a new 0600 file
 * beside it, renamed over it; with `durable`, it and then its folder fsynced.
 */
export function writePrivateFile(path: string, text: string | Uint8Array, options: { durable?: boolean } = {}): void {
  replaceFile(path, text, { ...options, opener: PRIVATE_FILES });
}

/**
 * Writes `text` as a new private file at the first of `paths` that is free, never over another file (`createFile`,
 * opened as private state); returns the path taken, or undefined when every one is taken.
 */
export function writeNewPrivateFile(paths: Iterable<string>, text: string | Uint8Array, options: { durable?: boolean } = {}): string | undefined {
  return createFile(paths, text, { ...options, opener: PRIVATE_FILES });
}

/**
 * Gets the sqlite database `path` ready for bun:sqlite, which opens by path: its folder is private (no link
 * on the way from `.org`), the database file exists 0600 and is no link, and any `-wal`, `-shm` or `-journal`
 * file already there is a plain 0600 file of this user's. sqlite makes those with the database's own mode.
 */
export function preparePrivateDatabase(path: string): void {
  closeSync(openPrivateFile(path, O_RDWR));
  for (const suffix of ["-wal", "-shm", "-journal"]) {
    const sidecar = `${path}${suffix}`;
    let fd: number;
    try {
      fd = openSync(sidecar, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (error) {
      if (errorCode(error) === "ENOENT") continue;
      throw refuse(sidecar, describe(error));
    }
    try {
      checkPrivateFile(fd, sidecar);
    } finally {
      closeSync(fd);
    }
  }
}
