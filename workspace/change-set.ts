import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { type EntryState, entryState, entryStateBelow, snapshotTree } from "./tree-snapshot.ts";

/** One side of a changed path. A file's `content` is absent when it is larger than the bound it was read with. */
export type FileVersion =
  | { type: "file"; mode: number; size: number; content?: Uint8Array }
  | { type: "symlink"; target: string }
  | { type: "fifo" | "device" | "socket" };

/** What happened to one path: `mode` alone when only the executable bit changed. */
export type FileChange = {
  path: string;
  status: "added" | "modified" | "deleted" | "mode";
  before?: FileVersion;
  after?: FileVersion;
};

/** Every path that differs between a base tree and a changed one, sorted by path. */
export type ChangeSet = { changes: FileChange[] };

/** Files read whole at most (a larger one is listed without content, and refused by checkChangeSet). */
export const DEFAULT_READ_BYTES = 8 * 1024 * 1024;

/**
 * What differs between `baseDir` (the workspace) and `changedDir` (a private copy a command ran on): added,
 * modified, deleted files and executable-bit changes (a changed file's mode as `carriedMode` leaves it); links and
 * special files are listed as they are, never followed or opened. Directories count only through what they hold. With `paths`, only those paths are
 * compared (a private copy knows which it changed); otherwise both trees whole, leaving out `.org/` and `.git/`.
 */
export function computeChangeSet(options: {
  baseDir: string;
  changedDir: string;
  paths?: Iterable<string>;
  maxFileBytes?: number;
  maxEntries?: number;
}): ChangeSet {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_READ_BYTES;
  const paths =
    options.paths ??
    new Set([
      ...snapshotTree(options.baseDir, { maxEntries: options.maxEntries }).keys(),
      ...snapshotTree(options.changedDir, { maxEntries: options.maxEntries }).keys(),
    ]);
  const changes: FileChange[] = [];
  for (const path of new Set(paths)) {
    const before = readVersionBelow(options.baseDir, path, maxFileBytes);
    const after = readVersionBelow(options.changedDir, path, maxFileBytes);
    const change = describeChange(path, before, after);
    if (change) changes.push(change);
  }
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { changes };
}

/** Text as lines, each with its own `\n` (the last may have none). */
export function splitLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines.length === 1 && lines[0] === "" ? [] : lines;
}

/** Git's test: a NUL byte in the first 8000 bytes makes a file binary. */
export function isBinary(content: Uint8Array): boolean {
  return content.subarray(0, 8000).includes(0);
}

/**
 * The mode a changed file is carried with: as it was when only its content changed, else without the group and other
 * write bits and the set-id and sticky bits (the executable bits kept): a 0777 or 4755 file a command made lands 0755.
 */
function carriedMode(before: FileVersion | undefined, mode: number): number {
  return before?.type === "file" && before.mode === mode ? mode : mode & 0o755;
}

function describeChange(path: string, before: FileVersion | undefined, changed: FileVersion | undefined): FileChange | undefined {
  if (before === undefined && changed === undefined) return undefined;
  const after = changed?.type === "file" ? { ...changed, mode: carriedMode(before, changed.mode) } : changed;
  if (before === undefined) return { path, status: "added", after };
  if (after === undefined) return { path, status: "deleted", before };
  if (sameContent(before, after)) {
    if (before.type === "file" && after.type === "file" && (before.mode & 0o111) !== (after.mode & 0o111))
      return { path, status: "mode", before, after };
    return undefined;
  }
  return { path, status: "modified", before, after };
}

function sameContent(a: FileVersion, b: FileVersion): boolean {
  if (a.type === "file" && b.type === "file") {
    if (a.size !== b.size) return false;
    if (a.content === undefined || b.content === undefined) return false;
    return Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength).equals(b.content);
  }
  if (a.type === "symlink" && b.type === "symlink") return a.target === b.target;
  return a.type === b.type;
}

/** One path's version, read without following a link; directories and missing paths are undefined. */
export function readVersion(path: string, maxFileBytes: number): FileVersion | undefined {
  const state: EntryState | undefined = entryState(path);
  if (state === undefined || state.type === "directory") return undefined;
  if (state.type === "symlink") return { type: "symlink", target: state.target };
  if (state.type !== "file") return { type: state.type };
  if (state.size > maxFileBytes) return { type: "file", mode: state.mode, size: state.size };
  const content = readFileNoFollow(path, maxFileBytes);
  if (content === undefined) return { type: "file", mode: state.mode, size: state.size };
  return { type: "file", mode: state.mode, size: content.byteLength, content };
}

/** The version of the relative `path` below `root`, as a walk of it sees it: none when a folder on the way is a link. */
function readVersionBelow(root: string, path: string, maxFileBytes: number): FileVersion | undefined {
  return entryStateBelow(root, path) === undefined ? undefined : readVersion(join(root, path), maxFileBytes);
}

/** A plain file's bytes, opened without following a link or blocking on a FIFO; undefined past `maxBytes` or when not a plain file. */
export function readFileNoFollow(path: string, maxBytes: number): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > maxBytes) return undefined;
    const buffer = Buffer.alloc(stat.size + 1);
    let length = 0;
    while (length < buffer.byteLength) {
      const read = readSync(fd, buffer, length, buffer.byteLength - length, null);
      if (read === 0) break;
      length += read;
    }
    // Grown while read: past the bound, or no longer the size stat gave.
    if (length > stat.size) return undefined;
    return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
  } finally {
    closeSync(fd);
  }
}
