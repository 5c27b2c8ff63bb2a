import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { resolve } from "node:path";
import { errorCode } from "../concurrency/error-code.ts";
import { OrgError } from "../errors/org-error.ts";

// Linux's O_CLOEXEC (node:fs does not export it); the same value on x86_64 and aarch64.
const O_CLOEXEC = 0o2000000;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | O_CLOEXEC;
const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_DIRECTORY | O_CLOEXEC;

/** A file a sandbox could have touched is not one the host will read: why, for the stage that asked. */
export class SandboxFileError extends OrgError {
  override name = "SandboxFileError";
}

/**
 * The one way the host reads back a file a sandboxed process could have touched (results, coverage reports):
 * opened by `openFileBelow`; through that descriptor it must be a regular file of at most `maxBytes`, and at most
 * that many bytes are read. Returns undefined when the file (or a folder on its way) does not exist; throws
 * SandboxFileError naming what it found instead (a link, a FIFO, a folder, a device, a file too big).
 */
export function readSandboxFile(root: string, relativePath: string, maxBytes: number): Buffer | undefined {
  const shown = relativePath;
  const fd = openFileBelow(root, relativePath);
  if (fd === undefined) return undefined;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new SandboxFileError(`${shown} is ${kindOf(stat)}, not a regular file; it was not read`);
    if (stat.size > maxBytes) throw new SandboxFileError(`${shown} holds ${stat.size} bytes, more than the ${maxBytes} allowed; it was not read`);
    // The file may still grow while it is read: one byte past the limit is enough to tell.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, length);
      if (read === 0) break;
      length += read;
    }
    if (length > maxBytes) throw new SandboxFileError(`${shown} grew past the ${maxBytes} bytes allowed while it was read; it was not read`);
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/**
 * A read-only descriptor of `relativePath` below `root` (close it), walked one component at a time, each opened
 * relative to its parent's descriptor without following a link, the last one also without blocking (a FIFO opens at
 * once): no link on the way, a folder's or the file's own, is ever followed. Undefined when the file (or a folder on
 * its way) does not exist; SandboxFileError naming a link or a file where a folder should be.
 */
export function openFileBelow(root: string, relativePath: string): number | undefined {
  const parts = relativePath.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.length === 0 || parts.includes("..")) throw new RangeError(`openFileBelow takes a path inside root, not ${JSON.stringify(relativePath)}`);
  let parent: number;
  try {
    parent = openSync(resolve(root), DIRECTORY_FLAGS);
  } catch (error) {
    return missingOr(error, relativePath, "its folder");
  }
  for (const [index, part] of parts.entries()) {
    const last = index === parts.length - 1;
    let fd: number;
    try {
      fd = openSync(`/proc/self/fd/${parent}/${part}`, last ? FILE_FLAGS : DIRECTORY_FLAGS);
    } catch (error) {
      // O_DIRECTORY | O_NOFOLLOW says ENOTDIR for a link too: look at what is there, without following it.
      const code = errorCode(error);
      const link = code === "ENOTDIR" && isLink(`/proc/self/fd/${parent}/${part}`);
      closeSync(parent);
      return missingOr(
        link ? Object.assign(new Error("ELOOP"), { code: "ELOOP" }) : error,
        relativePath,
        last ? "it" : parts.slice(0, index + 1).join("/"),
      );
    }
    closeSync(parent);
    parent = fd;
  }
  return parent;
}

function missingOr(error: unknown, shown: string, what: string): undefined {
  const code = errorCode(error);
  if (code === "ENOENT") return undefined;
  if (code === "ELOOP") throw new SandboxFileError(`${shown}: ${what} is a symbolic link; links are not followed, it was not read`);
  if (code === "ENOTDIR") throw new SandboxFileError(`${shown}: ${what} is not a folder; it was not read`);
  throw new SandboxFileError(`${shown} could not be opened (${code ?? String(error)}); it was not read`);
}

// Linux's O_PATH (node:fs does not export it): a handle on the entry itself, even a symlink.
const O_PATH = 0o10000000;

function isLink(path: string): boolean {
  try {
    const fd = openSync(path, O_PATH | constants.O_NOFOLLOW | O_CLOEXEC);
    try {
      return fstatSync(fd).isSymbolicLink();
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

function kindOf(stat: ReturnType<typeof fstatSync>): string {
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isDirectory()) return "a folder";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSocket()) return "a socket";
  if (stat.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}
