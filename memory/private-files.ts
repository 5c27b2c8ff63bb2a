import { chmodSync, closeSync, constants, lstatSync, mkdirSync, openSync, writeSync } from "node:fs";

/** A link or another kind of file where org keeps its private state: refused, never followed. */
export class UnsafePathError extends Error {
  override name = "UnsafePathError";
  readonly userFacing = true;
}

/** Makes `dir` (and its parents) private to this user: 0700, and refuses it when it is a link. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) throw new UnsafePathError(`${dir} is not a real directory (a link?); remove it and run org again.`);
  if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** Appends one line to a private file (0600, created when missing), never through a link. */
export function appendPrivateLine(path: string, line: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, line.endsWith("\n") ? line : `${line}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Refuses a path that exists as a link (sqlite would follow it); missing is fine. */
export function refuseLink(path: string): void {
  try {
    if (lstatSync(path).isSymbolicLink()) throw new UnsafePathError(`${path} is a link; org keeps its memory in real files. Remove it and run org again.`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
