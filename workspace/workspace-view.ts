import { lstatSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { SANDBOX_HOST_UID } from "../sandbox/bwrap-argv.ts";
import type { SandboxOptions } from "../sandbox/run-sandboxed.ts";
import { WORKSPACE_MOUNT, type WorkspaceView } from "../sandbox/sandbox-policy.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import type { PrivateCopy } from "./private-copy.ts";
import type { WorkspaceCopies } from "./workspace-copies.ts";

/** The mounts of one call: how a command sees the workspace, where it starts, and the private copy it writes (write view). */
export type ViewMounts = Pick<SandboxOptions, "readOnlyMounts" | "writableMounts" | "maskedDirs" | "workingDir"> & {
  copy?: PrivateCopy;
  /** Why the workspace is not shown this call, with the fix; the command then starts in /scratch. */
  notShown?: string;
};

/**
 * The sandbox mounts for `view`: "read" binds the workspace read-only at /workspace with `.org/` hidden under an
 * empty tmpfs (a bind, not a copy: a big tree costs nothing); "write" binds the session's private copy (from
 * `copies`), brought level with the workspace first, writable at /workspace, the real `.git/` read-only over it;
 * "none" mounts nothing (commands start in /scratch).
 */
export function workspaceMounts(view: WorkspaceView, workspaceDir: string, session: { sessionId?: string; workspaceCopies: WorkspaceCopies }): ViewMounts {
  if (view !== "write") return readOnlyViewMounts(view, workspaceDir);
  const root = resolve(workspaceDir);
  const copy = session.workspaceCopies.sessionCopy(root, session.sessionId);
  const gitDir = join(root, ".git");
  const git = isDirectory(gitDir) ? [{ source: gitDir, target: `${WORKSPACE_MOUNT}/.git` }] : [];
  return { writableMounts: [{ source: copy.copyDir, target: WORKSPACE_MOUNT }], readOnlyMounts: git, workingDir: WORKSPACE_MOUNT, copy };
}

/** The mounts of a view that makes no copy: "read" (the workspace read-only at /workspace, `.org/` hidden) or "none". */
export function readOnlyViewMounts(view: "read" | "none", workspaceDir: string): ViewMounts {
  if (view === "none") return {};
  const root = resolve(workspaceDir);
  const closed = closedToSandbox(root);
  if (closed) return { notShown: closed };
  ensurePrivateDir(join(root, ORG_DIR));
  return { readOnlyMounts: [{ source: root, target: WORKSPACE_MOUNT }], maskedDirs: [`${WORKSPACE_MOUNT}/${ORG_DIR}`], workingDir: WORKSPACE_MOUNT };
}

/**
 * As root, the sandbox runs as its own uid (SANDBOX_HOST_UID), which reads the workspace as any other user would:
 * a workspace folder others may not enter (a 0700 folder of root's) cannot be shown, and bwrap would fail on it.
 * The reason and the fix, or undefined when the sandbox can enter it.
 */
function closedToSandbox(root: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const mode = statSync(root).mode;
  if ((mode & 0o005) === 0o005) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  return `the workspace is not shown at ${WORKSPACE_MOUNT}: org runs as root, so the sandbox runs as uid ${SANDBOX_HOST_UID}, and the workspace folder is mode ${octal}, which other users may not read and enter. Run org as a normal user, or let others read it (chmod o+rx on the folder), or set sandbox.workspace to "none" in org.config.json to say nothing of it.`;
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}
