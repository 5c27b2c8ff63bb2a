import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { EnvironmentError } from "./environment.ts";
import { createFile, replaceFile } from "../concurrency/durable-file.ts";
import { randomHex } from "../concurrency/random-hex.ts";
import { OrgError } from "../errors/org-error.ts";

// The person's own org folder: what org keeps of the person rather than of a workspace (which a clone, an archive, a
// backup or a model may have written). The confirmations of `org config trust` and `org mcp trust` live here, and the
// key that seals them, so nothing a repository ships (its `.org/` included) can stand for the person's word.

/** `ORG_HOME`, else `$XDG_CONFIG_HOME/org`, else `~/.config/org`; undefined when the environment names none of them. */
export function userOrgDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const home = env.ORG_HOME?.trim();
  if (home) {
    if (!isAbsolute(home))
      throw new EnvironmentError(`ORG_HOME=${home} is not an absolute path: give one, e.g. ${join("/home", "you", ".config", "org")}, or unset it`);
    return home;
  }
  // A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
  const xdg = env.XDG_CONFIG_HOME?.trim();
  if (xdg && isAbsolute(xdg)) return join(xdg, "org");
  const user = env.HOME?.trim();
  return user && isAbsolute(user) ? join(user, ".config", "org") : undefined;
}

/** The user's org folder cannot hold confirmations: not set, not a folder, another user's, or open to others. */
export class UserOrgDirError extends OrgError {
  override name = "UserOrgDirError";
}

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;
const uid = () => process.getuid?.() ?? 0;
/** The largest file org reads from the folder; its own are a fraction of it. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Why `dir` cannot be trusted to hold only what the user wrote, or undefined when it can (a missing folder can). */
function folderProblem(dir: string): string | undefined {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (stat === undefined) return undefined;
  if (!stat.isDirectory()) return "is not a folder";
  if (stat.uid !== uid()) return `is owned by uid ${stat.uid}, not by the user running org (uid ${uid()})`;
  if ((stat.mode & 0o022) !== 0) return `can be written by other users (mode ${(stat.mode & 0o777).toString(8)}): run chmod 700 ${dir}`;
  return undefined;
}

/** `dir` (and `sub` in it), made 0700 when missing; returns `dir`. Throws UserOrgDirError when it is not the user's alone. */
export function ensureUserOrgDir(dir: string | undefined, sub?: string): string {
  if (dir === undefined) throw new UserOrgDirError("org has nowhere to keep your confirmations: set ORG_HOME (or HOME) to a folder of yours");
  for (const folder of sub === undefined ? [dir] : [dir, join(dir, sub)]) {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const problem = folderProblem(folder);
    if (problem !== undefined) throw new UserOrgDirError(`${folder}, where org keeps your confirmations, ${problem}; org keeps nothing there`);
  }
  return dir;
}

/** A descriptor of `path` to read, opened without following a link or waiting on a FIFO; undefined when it cannot be. */
function openForReading(path: string): number | undefined {
  try {
    return openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return undefined;
  }
}

/**
 * The text of the file `path` in the user's org folder, or undefined when it is missing or is not one org wrote there:
 * a link, not a plain file of this user's, readable by others, too large, or in a folder others may write.
 */
export function readUserFile(path: string, dir: string): string | undefined {
  const fd = folderProblem(dir) === undefined ? openForReading(path) : undefined;
  if (fd === undefined) return undefined;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== uid() || (stat.mode & 0o077) !== 0 || stat.size > MAX_FILE_BYTES) return undefined;
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

/** Writes `text` to `path` in the user's org folder as a whole: a new 0600 file, fsynced, renamed over the old one (`replaceFile`). */
export function writeUserFile(path: string, text: string): void {
  replaceFile(path, text, { durable: true });
}

/** The key file: 32 random bytes, hex, made once per user. */
const KEY_FILE = "trust.key";
const KEY_TEXT = /^[0-9a-f]{64}\n?$/;

/**
 * The user's secret key, which seals every confirmation org keeps (HMAC-SHA256): it never leaves this folder, so a
 * confirmation a backup or a repository carries holds only when this user's org made it. Made when `create` and missing;
 * undefined when there is none (nothing was ever confirmed) or it is not one org made.
 */
export function userTrustKey(dir: string | undefined, create: true): Buffer;
export function userTrustKey(dir: string | undefined, create: boolean): Buffer | undefined;
export function userTrustKey(dir: string | undefined, create: boolean): Buffer | undefined {
  if (dir === undefined) {
    // Throws, saying which variable to set: a confirmation needs somewhere to be kept.
    if (create) ensureUserOrgDir(dir);
    return undefined;
  }
  const path = join(dir, KEY_FILE);
  const existing = readUserFile(path, dir);
  if (existing !== undefined) return KEY_TEXT.test(existing) ? Buffer.from(existing.trim(), "hex") : undefined;
  if (!create) return undefined;
  ensureUserOrgDir(dir);
  // Written whole and linked into place (another org never reads half a key); one made meanwhile is the key.
  createFile([path], `${randomHex(32)}\n`, { durable: true });
  const made = readUserFile(path, dir);
  if (made === undefined || !KEY_TEXT.test(made))
    throw new UserOrgDirError(`${path} is not a key org made (a plain 0600 file of yours holding 64 hex digits): remove it, and org makes a new one`);
  return Buffer.from(made.trim(), "hex");
}
