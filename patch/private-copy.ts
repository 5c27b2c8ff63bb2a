import { chmodSync, cpSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SANDBOX_HOST_UID } from "../sandbox/bwrap-argv.ts";
import { makeScratchRootPrivate, scratchDirFor } from "../sandbox/scratch-dir.ts";
import { isNeverCopied } from "./change-set.ts";

/** A private, writable copy of a repository, as the scratch of a throw-away workspace; removed when disposed. */
export type PrivateCopy = AsyncDisposable & {
  /** The throw-away workspace (the tools' `workspaceDir`). */
  workspaceDir: string;
  /** The copy itself: the session's scratch, which the sandbox shows at /scratch. */
  dir: string;
  fileCount: number;
};

/** Gives every entry under `dir` (and `dir`) to `uid`, never through a link. */
function giveTo(dir: string, uid: number): void {
  lchownSync(dir, uid, uid);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (lstatSync(path).isDirectory()) giveTo(path, uid);
    else lchownSync(path, uid, uid);
  }
}

/**
 * Copies the repository's files (not `.git/` or `.org/`, links as links, no FIFOs, sockets or devices) into the
 * scratch of a new temp workspace, where the agent's `sh` works on them; the repository itself is only read.
 * When org runs as root the sandbox drops to its own uid, so the copy is handed to that uid.
 */
export function privateCopy(repoDir: string, sessionId: string): PrivateCopy {
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-patch-"));
  try {
    chmodSync(workspaceDir, 0o755);
    makeScratchRootPrivate(workspaceDir);
    const dir = scratchDirFor({ workspaceDir, sessionId });
    mkdirSync(dir, { mode: 0o700 });
    let fileCount = 0;
    cpSync(repoDir, dir, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (source) => {
        const relative = source.slice(repoDir.length + 1);
        if (relative === "") return true;
        if (isNeverCopied(relative)) return false;
        const stat = lstatSync(source);
        if (stat.isFile() || stat.isSymbolicLink()) fileCount += 1;
        return stat.isFile() || stat.isSymbolicLink() || stat.isDirectory();
      },
    });
    if (process.getuid?.() === 0) giveTo(dir, SANDBOX_HOST_UID);
    return {
      workspaceDir,
      dir,
      fileCount,
      [Symbol.asyncDispose]: async () => rmSync(workspaceDir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(workspaceDir, { recursive: true, force: true });
    throw error;
  }
}
