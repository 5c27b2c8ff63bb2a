import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, isAbsolute, join, normalize, sep } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { replyFileProblem } from "./reply-file-name.ts";
import { errorCode } from "../concurrency/error-code.ts";
import { OrgError } from "../errors/org-error.ts";

/** A write org refuses: the target is org's own state, or the path leads through a link or out of the workspace. */
export class UnsafeWriteError extends OrgError {
  override name = "UnsafeWriteError";
}

const { O_RDONLY, O_WRONLY, O_APPEND, O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;

/**
 * Why replies may not go to `relativePath` (workspace-relative), or undefined when they may: not into `.org/`
 * (org's sessions, audit log, history and the sandbox's scratch), not into `.git`, and not onto org's config
 * file or any other file in `protectedFiles` (absolute or workspace-relative paths).
 */
export function protectedTargetProblem(workspaceDir: string, relativePath: string, protectedFiles: readonly string[] = []): string | undefined {
  const parts = components(relativePath);
  if (parts[0] === ORG_DIR) {
    return (
      `"${relativePath}" is inside ${ORG_DIR}/, org's own state (sessions, audit log, sandbox scratch); ` +
      `replies may not be written there. Pick a file outside ${ORG_DIR}/.`
    );
  }
  if (parts.includes(".git")) {
    return `"${relativePath}" is inside a .git directory; replies may not be written there. Pick another file.`;
  }
  const root = realRoot(workspaceDir);
  const target = join(root, ...parts);
  for (const file of protectedFiles) {
    const path = isAbsolute(file) ? file : join(workspaceDir, file);
    if (samePath(path, target)) {
      return `"${relativePath}" is org's configuration file; replies may not be written over it. Pick another file.`;
    }
  }
  return undefined;
}

/**
 * Appends `text` to `relativePath` inside `workspaceDir`, a plain-text file (`replyFileProblem`), without
 * ever following a symbolic link: the walk
 * opens each directory with O_NOFOLLOW relative to the one before (through its /proc/self/fd entry, as
 * openat would), creates missing directories the same way, opens the file with O_NOFOLLOW, and checks that
 * the descriptor it got is the file inside the workspace. A path swapped for a link at any moment, in any
 * component, makes the write fail; nothing is written elsewhere. Throws UnsafeWriteError when refused.
 */
export function appendInsideWorkspace(
  workspaceDir: string,
  relativePath: string,
  text: string,
  options: { protectedFiles?: readonly string[] } = {},
): { bytes: number } {
  const problem = protectedTargetProblem(workspaceDir, relativePath, options.protectedFiles) ?? replyFileProblem(relativePath);
  if (problem) throw new UnsafeWriteError(problem);
  const parts = components(relativePath);
  const name = parts.pop();
  if (name === undefined) throw new UnsafeWriteError(`"${relativePath}" names no file; give a file path such as "replies.md".`);
  const root = realRoot(workspaceDir);
  const opened: number[] = [];
  try {
    let directory = openSync(root, O_RDONLY | O_DIRECTORY);
    opened.push(directory);
    for (const [index, part] of parts.entries()) {
      directory = openDirectory(directory, part, relativePath, parts.slice(0, index + 1).join("/"));
      opened.push(directory);
    }
    let file: number;
    try {
      // O_NONBLOCK: a FIFO planted at the path fails at once (ENXIO) instead of blocking the room.
      file = openSync(`/proc/self/fd/${directory}/${name}`, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o644);
    } catch (error) {
      throw refusal(error, relativePath, relativePath);
    }
    opened.push(file);
    const stat = fstatSync(file);
    if (!stat.isFile())
      throw new UnsafeWriteError(`"${relativePath}" is not a plain file; replies are only appended to plain files. Pick another path.`);
    if (stat.nlink > 1) {
      throw new UnsafeWriteError(`"${relativePath}" has other hard links, so writing it would change a file elsewhere. Pick another path.`);
    }
    // The walk cannot have left the workspace; the descriptor's own path says so independently.
    const expected = join(root, ...parts, name);
    const actual = readlinkSync(`/proc/self/fd/${file}`);
    if (actual !== expected) {
      throw new UnsafeWriteError(`"${relativePath}" resolved to another file while it was opened (${actual}); nothing was written.`);
    }
    const bytes = Buffer.from(text);
    for (let written = 0; written < bytes.byteLength; ) written += writeSync(file, bytes, written);
    return { bytes: bytes.byteLength };
  } finally {
    for (const fd of opened.reverse()) closeSync(fd);
  }
}

/** What replaces a workspace path: a file's bytes and mode, a link's target, or nothing (the path is removed). */
export type WorkspaceEntry = { type: "file"; content: Uint8Array; mode: number } | { type: "symlink"; target: string } | undefined;

/**
 * Makes `relativePath` inside `workspaceDir` hold `entry` (or removes it), following no link on the way: each
 * directory is opened with O_NOFOLLOW relative to the one before (missing ones made), and the entry itself is
 * written as a new file beside it and renamed over it, so a link or FIFO planted at the path is replaced, never
 * written through. `.org/` and `.git` are refused. A removal also removes folders it left empty. Throws
 * UnsafeWriteError when refused.
 */
export function replaceInsideWorkspace(workspaceDir: string, relativePath: string, entry: WorkspaceEntry): void {
  const problem = protectedTargetProblem(workspaceDir, relativePath);
  if (problem) throw new UnsafeWriteError(problem.replace("replies may not be written", "changes may not be written"));
  const parts = components(relativePath);
  const name = parts.pop();
  if (name === undefined) throw new UnsafeWriteError(`"${relativePath}" names no file`);
  const opened: number[] = [];
  try {
    let directory = openSync(realRoot(workspaceDir), O_RDONLY | O_DIRECTORY);
    opened.push(directory);
    for (const [index, part] of parts.entries()) {
      directory =
        entry === undefined
          ? openExisting(directory, part, relativePath, parts.slice(0, index + 1).join("/"))
          : openDirectory(directory, part, relativePath, parts.slice(0, index + 1).join("/"));
      if (directory < 0) return; // removing what is already gone
      opened.push(directory);
    }
    const target = `/proc/self/fd/${directory}/${name}`;
    if (entry === undefined) {
      try {
        unlinkSync(target);
      } catch (error) {
        if (errorCode(error) !== "ENOENT") throw refusal(error, relativePath, relativePath);
      }
      // Folders the removal emptied go too, as git leaves none; rmdir never follows a link and fails on a full one.
      for (let depth = opened.length - 1; depth > 0; depth -= 1) {
        try {
          rmdirSync(`/proc/self/fd/${opened[depth - 1]}/${parts[depth - 1]}`);
        } catch {
          break;
        }
      }
      return;
    }
    const temporary = `/proc/self/fd/${directory}/.org-write-${process.pid}-${Math.random().toString(36).slice(2)}`;
    if (entry.type === "symlink") {
      symlinkSync(entry.target, temporary);
    } else {
      const file = openSync(temporary, O_WRONLY | O_CREAT | constants.O_EXCL | O_NOFOLLOW, 0o600);
      try {
        for (let written = 0; written < entry.content.byteLength; ) written += writeSync(file, entry.content, written);
        fchmodSync(file, entry.mode & 0o777);
      } finally {
        closeSync(file);
      }
    }
    try {
      renameSync(temporary, target);
    } catch (error) {
      unlinkSync(temporary);
      throw refusal(error, relativePath, relativePath);
    }
  } finally {
    for (const fd of opened.reverse()) closeSync(fd);
  }
}

/** An existing directory opened without following a link, or -1 when it is missing. */
function openExisting(parent: number, part: string, relativePath: string, shown: string): number {
  try {
    return openSync(`/proc/self/fd/${parent}/${part}`, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return -1;
    throw refusal(error, relativePath, shown);
  }
}

function openDirectory(parent: number, part: string, relativePath: string, shown: string): number {
  const path = `/proc/self/fd/${parent}/${part}`;
  const open = () => openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    return open();
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw refusal(error, relativePath, shown);
  }
  try {
    // mkdir never follows a link in the last component: a link planted meanwhile makes it fail with EEXIST.
    mkdirSync(path, { mode: 0o755 });
  } catch (error) {
    if (errorCode(error) !== "EEXIST") throw error;
  }
  try {
    return open();
  } catch (error) {
    throw refusal(error, relativePath, shown);
  }
}

function refusal(error: unknown, relativePath: string, shown: string): Error {
  const code = errorCode(error);
  if (code === "ELOOP" || code === "ENOTDIR") {
    return new UnsafeWriteError(
      `"${relativePath}" was not written: ${shown} is a symbolic link or not a directory, and org writes only ` +
        `through plain folders inside the workspace.`,
    );
  }
  if (code === "ENXIO") return new UnsafeWriteError(`"${relativePath}" is not a plain file (a pipe or device); nothing was written.`);
  // A file or link renamed over a folder: one that still holds files (a secret file the agents never saw) stays whole.
  if (code === "EISDIR" || code === "ENOTEMPTY") {
    return new UnsafeWriteError(
      `"${relativePath}" was not written: it is a folder that still holds files (files hidden from the ` +
        `agents, or new ones); nothing was removed from it.`,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** The workspace-relative path as its components; refuses absolute paths, `..` and empty paths. */
function components(relativePath: string): string[] {
  if (isAbsolute(relativePath)) throw new UnsafeWriteError(`"${relativePath}" is absolute; give a path relative to the workspace.`);
  const parts = normalize(relativePath)
    .split(sep)
    .filter((part) => part !== "" && part !== ".");
  if (parts.length === 0 || parts.includes("..")) {
    throw new UnsafeWriteError(`"${relativePath}" is not a file inside the workspace; give a path such as "replies.md".`);
  }
  return parts;
}

function realRoot(workspaceDir: string): string {
  return realpathSync(workspaceDir);
}

/** Whether a protected file (possibly under a linked directory) is the target's path. */
function samePath(path: string, target: string): boolean {
  if (normalize(path) === target) return true;
  try {
    return join(realpathSync(dirname(path)), basename(path)) === target;
  } catch {
    return false;
  }
}
