import { chmodSync, rmSync } from "node:fs";
import { openPrivateCopy } from "../workspace/private-copy.ts";
import { WorkspaceCopies } from "../workspace/workspace-copies.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";

/**
 * A throw-away workspace holding a copy of the repository, and the agent's private copies of it (the write view's):
 * all removed when disposed.
 */
export type PatchWorkspace = AsyncDisposable & { dir: string; entries: number; copies: WorkspaceCopies };

/**
 * Copies the repository (`openPrivateCopy`: not `.git/` or `.org/`, links as links, no FIFOs, sockets or
 * devices) into a new temp folder: the workspace the agent's tools work on, under the write view, in place of
 * the repository, which is only read. What org keeps of the agent's changes lands here; the patch is the
 * difference between this folder and the repository.
 */
export function patchWorkspace(repoDir: string): PatchWorkspace {
  const dir = ownedTempDir("patch");
  try {
    // As root the sandbox runs as its own uid, which must pass through to the session's copy below.
    chmodSync(dir, 0o755);
    // Whole, secret files too: no command sees this copy (the agent's own, of it, leaves them out), and the patch is
    // what differs between it and the repository, which a missing file would make a deletion.
    const copy = openPrivateCopy({ workspaceDir: repoDir, copyDir: dir, secretPaths: [] });
    const copies = new WorkspaceCopies();
    const dispose = async () => {
      // The agent's session copy lives inside `dir`: drop it, then remove everything.
      copies.discardAll();
      rmSync(dir, { recursive: true, force: true });
    };
    return { dir, entries: copy.copyBaseline.size, copies, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
