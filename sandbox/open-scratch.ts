import { closeSync, constants, fchmodSync, fchownSync, fstatSync, mkdirSync, openSync, readdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { SANDBOX_HOST_UID } from "./bwrap-argv.ts";
import { errorCode } from "../concurrency/error-code.ts";
import { OrgError } from "../errors/org-error.ts";

/** The scratch path cannot be used as given: not a plain directory, or a directory org must not take over. */
export class ScratchDirectoryError extends OrgError {
  override name = "ScratchDirectoryError";
}

/** A scratch directory opened for one run: its path, and the descriptor bwrap mounts (`--bind-fd`). */
export type OpenScratch = { directory: string; fd: number };

/**
 * Creates the scratch directory (and any missing parent) private to its owner, opens it without following a
 * symlink, and, when the launcher drops from root, hands it to the sandbox uid. The sandbox gets the directory
 * through the descriptor, so no parent needs to be reachable by anyone but org: other host users never can.
 */
export function openScratch(scratchDir: string, dropRoot: boolean): OpenScratch {
  const directory = resolve(scratchDir);
  mkdirSync(dirname(directory), { recursive: true, mode: 0o700 });
  let created = false;
  try {
    mkdirSync(directory, { mode: 0o700 });
    created = true;
  } catch (error) {
    if (errorCode(error) !== "EEXIST") throw error;
  }
  return adoptScratch(directory, created, dropRoot);
}

/**
 * openScratch for a directory that exists already, creating nothing: undefined when it is gone. A sandbox
 * started ahead of need (`sandbox-pool.ts`) must not bring back a scratch its caller has just removed.
 */
export function openExistingScratch(scratchDir: string, dropRoot: boolean): OpenScratch | undefined {
  try {
    return adoptScratch(resolve(scratchDir), false, dropRoot);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

/** Opens the directory without following a link and makes it what a run needs, acting on the descriptor only. */
function adoptScratch(directory: string, created: boolean, dropRoot: boolean): OpenScratch {
  let fd: number;
  try {
    fd = openSync(directory, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = errorCode(error);
    if (code !== "ELOOP" && code !== "ENOTDIR") throw error;
    throw new ScratchDirectoryError(
      `scratch path ${directory} is not a plain directory (a symlink or a file); give a directory, or a path to create`,
    );
  }
  try {
    // Everything below acts on the descriptor: what was checked is what gets changed and mounted.
    const stat = fstatSync(fd);
    if (dropRoot) {
      // Handing a directory that already holds someone's files to the sandbox uid would change who owns it for
      // good, and the files inside would stay unwritable in the sandbox anyway.
      if (!created && stat.uid !== SANDBOX_HOST_UID && readdirSync(`/proc/self/fd/${fd}`).length > 0) {
        throw new ScratchDirectoryError(
          `scratch directory ${directory} already holds files and belongs to uid ${stat.uid}. When org runs as root it ` +
            `gives scratch to the sandbox user (uid ${SANDBOX_HOST_UID}), and it will not take over a directory in use: ` +
            "give an empty directory or a new path.",
        );
      }
      fchownSync(fd, SANDBOX_HOST_UID, SANDBOX_HOST_UID);
    }
    // A run may have opened it to everyone (it owns it); nobody else gets in before the next one.
    const owned = dropRoot || stat.uid === process.getuid?.();
    if (owned && (stat.mode & 0o7777) !== 0o700) fchmodSync(fd, 0o700);
    return { directory, fd };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}
