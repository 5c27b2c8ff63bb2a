import { createHash } from "node:crypto";
import { join } from "node:path";

/** The per-session scratch directory under the workspace: `<workspace>/.org/scratch/<session or "default">`. */
export function scratchDirFor(context: { workspaceDir: string; sessionId?: string }): string {
  const session = context.sessionId ?? "default";
  // A session id becomes a path component only if it is plainly one; anything else is hashed.
  const safe = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(session)
    ? session
    : createHash("sha256").update(session).digest("hex").slice(0, 16);
  return join(context.workspaceDir, ".org", "scratch", safe);
}
