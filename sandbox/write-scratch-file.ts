import { closeSync, constants, fchownSync, fstatSync, mkdirSync, openSync, writeSync } from "node:fs";
import { errorCode } from "../concurrency/error-code.ts";
import { SANDBOX_HOST_UID, SCRATCH_MOUNT } from "./bwrap-argv.ts";
import { openScratch } from "./open-scratch.ts";
import { isRoot } from "./run-sandboxed.ts";
import { OrgError } from "../errors/org-error.ts";

// Linux's O_CLOEXEC (node:fs does not export it); the same value on x86_64 and aarch64.
const O_CLOEXEC = 0o2000000;
const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_DIRECTORY | O_CLOEXEC;

/** A path or a file in scratch org will not write (or send): what is wrong and what to give instead. */
export class ScratchPathError extends OrgError {
  override name = "ScratchPathError";
}

/**
 * The components of a path a model gave for a file in scratch: relative (`notes/a.pdf`), or under the sandbox's own
 * name for it (`/scratch/notes/a.pdf`); never `..`, another absolute path, an empty name or a control character.
 */
export function scratchPathParts(path: string): string[] {
  const relative = path.startsWith(`${SCRATCH_MOUNT}/`) ? path.slice(SCRATCH_MOUNT.length + 1) : path;
  if (relative.startsWith("/")) {
    throw new ScratchPathError(
      `"${path}" is absolute; give a path inside scratch, such as "downloads/file.pdf" (the sandbox sees ${SCRATCH_MOUNT}/downloads/file.pdf)`,
    );
  }
  if (/[\u0000-\u001f\u007f]/.test(relative)) throw new ScratchPathError(`${JSON.stringify(path)} holds a control character; give a plain file name`);
  const parts = relative.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) throw new ScratchPathError(`"${path}" climbs out with ".."; give a path inside scratch`);
  if (parts.length === 0) throw new ScratchPathError(`"${path}" names no file; give a file name such as "file.pdf"`);
  if (parts.some((part) => Buffer.byteLength(part) > 255)) throw new ScratchPathError(`"${path.slice(0, 80)}…" has a name longer than 255 bytes`);
  return parts;
}

/** The path the sandbox's commands see for a file at `parts` in scratch. */
export function sandboxPathOf(parts: readonly string[]): string {
  return `${SCRATCH_MOUNT}/${parts.join("/")}`;
}

/**
 * Writes `bytes` to `path` in the session's scratch directory, never through a link: each folder is opened (or made)
 * relative to the one before without following a link, the file is opened with O_NOFOLLOW, new (O_EXCL) unless
 * `overwrite`, and must be a regular file. When org runs as root the file goes to the sandbox's uid, as scratch does.
 * Returns the path as the sandbox sees it; throws ScratchPathError saying what was refused.
 */
export function writeScratchFile(scratchDir: string, path: string, bytes: Uint8Array, options: { overwrite?: boolean } = {}): string {
  const parts = scratchPathParts(path);
  const dropRoot = isRoot();
  const opened: number[] = [];
  try {
    let parent = openScratch(scratchDir, dropRoot).fd;
    opened.push(parent);
    for (const [index, part] of parts.slice(0, -1).entries()) {
      const shown = parts.slice(0, index + 1).join("/");
      const at = `/proc/self/fd/${parent}/${part}`;
      try {
        mkdirSync(at, { mode: 0o700 });
      } catch (error) {
        if (errorCode(error) !== "EEXIST") throw refused(error, path, shown);
      }
      parent = openOrRefuse(at, DIRECTORY_FLAGS, path, shown);
      opened.push(parent);
      if (dropRoot) fchownSync(parent, SANDBOX_HOST_UID, SANDBOX_HOST_UID);
    }
    const flags =
      constants.O_WRONLY |
      constants.O_CREAT |
      constants.O_NOFOLLOW |
      constants.O_NONBLOCK |
      O_CLOEXEC |
      (options.overwrite ? constants.O_TRUNC : constants.O_EXCL);
    const file = openOrRefuse(`/proc/self/fd/${parent}/${parts.at(-1)}`, flags, path, "it", 0o600);
    opened.push(file);
    if (!fstatSync(file).isFile()) throw new ScratchPathError(`${path} is not a regular file; nothing was written`);
    if (dropRoot) fchownSync(file, SANDBOX_HOST_UID, SANDBOX_HOST_UID);
    let written = 0;
    while (written < bytes.length) written += writeSync(file, bytes, written, bytes.length - written);
    return sandboxPathOf(parts);
  } finally {
    for (const fd of opened.reverse()) closeSync(fd);
  }
}

function openOrRefuse(at: string, flags: number, path: string, shown: string, mode?: number): number {
  try {
    return openSync(at, flags, mode);
  } catch (error) {
    throw refused(error, path, shown);
  }
}

function refused(error: unknown, path: string, shown: string): Error {
  switch (errorCode(error)) {
    case "EEXIST":
      return new ScratchPathError(`${path} exists already; pick another name, or call again with overwrite: true to replace it`);
    case "ELOOP":
    case "ENOTDIR":
      return new ScratchPathError(`${path}: ${shown} is a symbolic link or not a folder; links are not followed, nothing was written`);
    case "EISDIR":
      return new ScratchPathError(`${path} is a folder; give a file name inside it`);
    case "ENXIO":
      return new ScratchPathError(`${path} is a FIFO or a device; nothing was written`);
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}
