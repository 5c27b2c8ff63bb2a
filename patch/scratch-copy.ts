import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SANDBOX_HOST_UID } from "../sandbox/bwrap-argv.ts";
import { makeScratchRootPrivate, scratchDirFor } from "../sandbox/scratch-dir.ts";
import { openPrivateCopy, type PrivateCopy } from "../workspace/private-copy.ts";

/** A private copy of a repository kept as the scratch of a throw-away workspace; removed when disposed. */
export type ScratchCopy = AsyncDisposable & {
  /** The throw-away workspace (the tools' `workspaceDir`). */
  workspaceDir: string;
  /** The copy (its `copyDir` is the session's scratch, which the sandbox shows at /scratch). */
  copy: PrivateCopy;
};

/**
 * Copies the repository (`openPrivateCopy`: not `.git/` or `.org/`, links as links, no FIFOs, sockets or
 * devices) into the scratch of a new temp workspace, where the agent's `sh` works on it in the sandbox; the
 * repository itself is only read. When org runs as root the sandbox drops to its own uid, which gets the copy.
 */
export function scratchCopy(repoDir: string, sessionId: string): ScratchCopy {
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-patch-"));
  try {
    chmodSync(workspaceDir, 0o755);
    makeScratchRootPrivate(workspaceDir);
    const copy = openPrivateCopy({
      workspaceDir: repoDir,
      copyDir: scratchDirFor({ workspaceDir, sessionId }),
      ...(process.getuid?.() === 0 ? { owner: SANDBOX_HOST_UID } : {}),
    });
    return { workspaceDir, copy, [Symbol.asyncDispose]: async () => rmSync(workspaceDir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(workspaceDir, { recursive: true, force: true });
    throw error;
  }
}
