import { lstatSync } from "node:fs";
import { join } from "node:path";
import { SCRATCH_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir, PrivateStateError } from "../security/private-state.ts";
import { ScratchDirectoryError } from "./open-scratch.ts";

/** Where every session's scratch lives under a workspace: `<workspace>/.org/scratch`. */
export function scratchRootFor(workspaceDir: string): string {
  return join(workspaceDir, SCRATCH_DIR);
}

/** The per-session scratch directory under the workspace: `<workspace>/.org/scratch/<session or "default">`. */
export function scratchDirFor(context: { workspaceDir: string; sessionId?: string }): string {
  const session = context.sessionId ?? "default";
  // A session id becomes a path component only if it is plainly one; anything else is hashed.
  // Bun's own hasher rather than node:crypto, whose loading costs tens of milliseconds on a CLI's path.
  const safe = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(session)
    ? session
    : new Bun.CryptoHasher("sha256").update(session).digest("hex").slice(0, 16);
  return join(scratchRootFor(context.workspaceDir), safe);
}

/**
 * What is wrong with the workspace's scratch root for keeping other host users out, or undefined when it is a
 * directory of this user's that only they can enter (or does not exist yet: it is made that way).
 */
export function scratchRootProblem(workspaceDir: string): string | undefined {
  const root = scratchRootFor(workspaceDir);
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(root);
  } catch {
    return undefined;
  }
  if (!stat.isDirectory()) return `${root} is not a plain directory (a symlink or a file): remove it, and org makes it again`;
  if (stat.uid !== process.getuid?.()) return `${root} belongs to uid ${stat.uid}, not to the user running org: remove it`;
  return undefined;
}

/**
 * Makes the workspace's scratch root 0700 (and `.org` above it, as all of org's private state: real
 * directories of this user's, never through a link), or tightens it to 0700; throws what is wrong.
 */
export function makeScratchRootPrivate(workspaceDir: string): string {
  const root = scratchRootFor(workspaceDir);
  try {
    ensurePrivateDir(root);
  } catch (error) {
    throw error instanceof PrivateStateError ? new ScratchDirectoryError(error.message) : error;
  }
  return root;
}
