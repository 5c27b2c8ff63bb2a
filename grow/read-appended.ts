import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

/** Where a reader stopped in an append-only file: the byte after the last whole line it took, and the file it was. */
export type FileMark = { offset: number; ino: number };

/** Whole lines appended since `mark`, each with the byte offset it starts at, and the mark to start from next time. */
export type AppendedLines = { lines: { offset: number; text: string }[]; mark: FileMark; more: boolean; skipped: number; bytes: number };

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A line longer than this is no event org wrote whole; it is skipped, never parsed. */
const MAX_LINE_BYTES = 1024 * 1024;

/**
 * Reads the whole lines appended to `path` since `mark`, at most `maxBytes` of them and none past `until` (a line
 * start), `more` saying whether the file goes on, without following a link or blocking on a FIFO: a path that is not
 * a regular file reads as empty. A file that shrank or was replaced (another inode) is read from its start. A line
 * still being written (no newline yet) is left for next time; a line over MAX_LINE_BYTES is skipped and counted.
 */
export function readAppendedLines(path: string, mark: FileMark | undefined, maxBytes: number, until?: number): AppendedLines | undefined {
  const opened = openRegularFile(path);
  if (!opened) return undefined;
  const { fd, stat } = opened;
  try {
    const from = mark && mark.ino === stat.ino && mark.offset <= stat.size ? mark.offset : 0;
    const length = Math.max(0, Math.min(stat.size - from, maxBytes, (until ?? Number.POSITIVE_INFINITY) - from));
    const buffer = Buffer.alloc(Math.max(0, length));
    let read = 0;
    while (read < length) {
      const got = readSync(fd, buffer, read, length - read, from + read);
      if (got <= 0) break;
      read += got;
    }
    const lines: AppendedLines["lines"] = [];
    let start = 0;
    let skipped = 0;
    for (let end = buffer.indexOf(10, 0); end !== -1 && end < read; end = buffer.indexOf(10, start)) {
      if (end - start > MAX_LINE_BYTES) skipped += 1;
      else if (end > start) lines.push({ offset: from + start, text: buffer.toString("utf8", start, end) });
      start = end + 1;
    }
    // One line longer than the whole read: nothing whole came, so step over it rather than stall on it for ever.
    if (start === 0 && read === maxBytes && read > MAX_LINE_BYTES) {
      const next = nextLineStart(fd, from + read, stat.size);
      return { lines: [], mark: { offset: next, ino: stat.ino }, more: next < stat.size, skipped: 1, bytes: read };
    }
    const offset = from + start;
    return { lines, mark: { offset, ino: stat.ino }, more: offset < stat.size && from + read < stat.size, skipped, bytes: read };
  } finally {
    closeSync(fd);
  }
}

/** `path` opened for reading when it is a regular file (no link followed, no FIFO waited on), with its stat. */
function openRegularFile(path: string): { fd: number; stat: { size: number; ino: number } } | undefined {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch {
    return undefined;
  }
  const stat = fstatSync(fd);
  if (stat.isFile()) return { fd, stat };
  closeSync(fd);
  return undefined;
}

/** The offset after the next newline at or past `position` (the file's size when there is none). */
function nextLineStart(fd: number, position: number, size: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  for (let at = position; at < size; ) {
    const got = readSync(fd, chunk, 0, chunk.length, at);
    if (got <= 0) break;
    const newline = chunk.subarray(0, got).indexOf(10);
    if (newline !== -1) return at + newline + 1;
    at += got;
  }
  return size;
}
