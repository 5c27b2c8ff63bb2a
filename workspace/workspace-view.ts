import { lstatSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { SANDBOX_HOST_UID } from "../sandbox/bwrap-argv.ts";
import type { SandboxOptions } from "../sandbox/sandbox-options.ts";
import { type SandboxPolicy, WORKSPACE_MOUNT, type WorkspaceView } from "../sandbox/sandbox-policy.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { secretPathMatcher } from "./check-change-set.ts";
import { gitConfigCovers, gitConfigName, gitConfigsAmong, topGitConfigs } from "./git-config-covers.ts";
import type { PrivateCopy } from "./private-copy.ts";
import { closedFolderOnTheWay, SecretFileScan, type SecretEntries } from "./secret-files.ts";
import { heldBySnapshot, TreeTooLargeError } from "./tree-snapshot.ts";
import type { WorkspaceCopies } from "./workspace-copies.ts";

/** The mounts of one call: how a command sees the workspace, where it starts, and the private copy it writes (write view). */
export type ViewMounts = Pick<
  SandboxOptions,
  "readOnlyMounts" | "writableMounts" | "grownMounts" | "maskedDirs" | "maskedFiles" | "coveredFiles" | "workingDir" | "ready"
> & {
  copy?: PrivateCopy;
  /** Why the workspace is not shown this call, with the fix; the command then starts in /scratch. */
  notShown?: string;
};

/**
 * Who asks for a view: the session (whose copy the write view uses), its policy's `secretPaths`, and the copies and
 * secret scans kept between its calls (`workspaceCopies`).
 */
export type ViewSession = { sessionId?: string; sandboxPolicy: Pick<SandboxPolicy, "secretPaths">; workspaceCopies: WorkspaceCopies };

// The folder the real .git/ is mounted on in the copy (the baseline never holds it): one entry, one folder's blocks.
const EMPTY_FOLDER_BYTES = 4096;

/**
 * The sandbox mounts for `view`: "read" binds the workspace read-only at /workspace with `.org/` and every secret
 * folder hidden under an empty tmpfs and every secret file under an empty read-only file (a bind, not a copy: a big
 * tree costs a walk of its folders, and a repeated call an lstat of each); "write" binds the session's private copy
 * (from `workspaceCopies`), brought level with the workspace first (no secret file in it), writable at /workspace,
 * the real `.git/` read-only over it; "none" mounts nothing (commands start in /scratch).
 */
export function workspaceMounts(view: WorkspaceView, workspaceDir: string, session: ViewSession): ViewMounts {
  if (view !== "write") return readOnlyViewMounts(view, workspaceDir, session);
  const root = resolve(workspaceDir);
  const { secretPaths } = session.sandboxPolicy;
  const copy = session.workspaceCopies.sessionCopy(root, session.sessionId, secretPaths);
  const gitDir = join(root, ".git");
  // `.git` among the secret paths hides it here too; else it is shown read-only over the copy, its configs covered.
  const showGit = isDirectory(gitDir) && secretPathMatcher(secretPaths)(".git") === undefined;
  const git = showGit ? [{ source: gitDir, target: `${WORKSPACE_MOUNT}/.git` }] : [];
  // The copy's own git configs (a nested repository's, copied with it) are covered as the workspace's are.
  const copied: string[] = [];
  for (const [path, state] of copy.workspaceBaseline)
    if ((state.type === "file" || state.type === "symlink") && gitConfigName(path)) copied.push(path);
  const covered = coversOf(root, [...(showGit ? topGitConfigs(root) : []), ...gitConfigsAmong(root, copied)]);
  // What the copy holds now (level with its baseline), counted as the watchdog counts: a command may add scratch's
  // bounds to it, no more.
  const held = heldBySnapshot(copy.copyBaseline);
  return {
    writableMounts: [{ source: copy.copyDir, target: WORKSPACE_MOUNT }],
    grownMounts: [{ dir: copy.copyDir, shownAs: WORKSPACE_MOUNT, heldBytes: held.bytes + EMPTY_FOLDER_BYTES, heldEntries: held.entries + 1 }],
    readOnlyMounts: git,
    ...covered,
    workingDir: WORKSPACE_MOUNT,
    copy,
  };
}

/**
 * The covers of git configs (workspace-relative), or for one below a folder the sandbox's uid may not enter (org runs
 * as root), a mask of that folder.
 */
function coversOf(root: string, configs: readonly string[]): Pick<ViewMounts, "coveredFiles" | "maskedDirs"> {
  const closed = configs.map((config) => closedFolderOnTheWay(root, config));
  const { covers } = gitConfigCovers(
    root,
    configs.filter((_config, index) => closed[index] === undefined),
  );
  const masks = [...new Set(closed.filter((folder) => folder !== undefined))].map((folder) => `${WORKSPACE_MOUNT}/${folder}`);
  return { ...(covers.length > 0 ? { coveredFiles: covers } : {}), ...(masks.length > 0 ? { maskedDirs: masks } : {}) };
}

/**
 * The mounts of a view that makes no copy: "read" (the workspace read-only at /workspace, `.org/` and the secret
 * files of the policy's `secretPaths` hidden) or "none". The scan of secret files is the one `workspaceCopies` keeps
 * when given (a repeated call reads only changed folders), else a fresh one (a view opened once, an MCP server's).
 * With `checkLater` (a fresh scan only), the masks come from the walk kept in `.org/` before its folders are checked:
 * the check is the mounts' `ready`, which the sandbox makes while its launcher starts, before the command may run.
 */
export function readOnlyViewMounts(
  view: "read" | "none",
  workspaceDir: string,
  session: Pick<ViewSession, "sandboxPolicy"> & { workspaceCopies?: WorkspaceCopies; checkLater?: boolean },
): ViewMounts {
  if (view === "none") return {};
  const root = resolve(workspaceDir);
  const closed = closedToSandbox(root);
  if (closed) return { notShown: closed };
  ensurePrivateDir(join(root, ORG_DIR));
  const { secretPaths } = session.sandboxPolicy;
  let secrets: Pick<SecretEntries, "files" | "folders" | "gitConfigs">;
  let ready: (() => boolean) | undefined;
  try {
    if (session.checkLater && !session.workspaceCopies) {
      const ahead = new SecretFileScan(root, secretPaths).scanAhead();
      secrets = ahead.entries;
      ready = ahead.unchanged;
    } else secrets = (session.workspaceCopies?.secretScan(root, secretPaths) ?? new SecretFileScan(root, secretPaths)).scan();
  } catch (error) {
    if (!(error instanceof TreeTooLargeError)) throw error;
    return {
      notShown:
        `the workspace is not shown at ${WORKSPACE_MOUNT}: ${error.message}. Set sandbox.workspace to ` +
        `"none" in org.config.json, or start org in a smaller folder.`,
    };
  }
  const inside = (path: string) => `${WORKSPACE_MOUNT}/${path}`;
  // `.git` among the secret paths hides it whole; else its configs are shown without their credentials.
  const hideGit = isDirectory(join(root, ".git")) && secretPathMatcher(secretPaths)(".git") !== undefined;
  const covered = coversOf(root, [...(hideGit ? [] : topGitConfigs(root)), ...secrets.gitConfigs]);
  return {
    readOnlyMounts: [{ source: root, target: WORKSPACE_MOUNT }],
    maskedDirs: [
      `${WORKSPACE_MOUNT}/${ORG_DIR}`,
      ...(hideGit ? [`${WORKSPACE_MOUNT}/.git`] : []),
      ...secrets.folders.map(inside),
      ...(covered.maskedDirs ?? []),
    ],
    ...(secrets.files.length > 0 ? { maskedFiles: secrets.files.map(inside) } : {}),
    ...(covered.coveredFiles ? { coveredFiles: covered.coveredFiles } : {}),
    workingDir: WORKSPACE_MOUNT,
    ...(ready ? { ready } : {}),
  };
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
  return (
    `the workspace is not shown at ${WORKSPACE_MOUNT}: org runs as root, so the sandbox runs as uid ` +
    `${SANDBOX_HOST_UID}, and the workspace folder is mode ${octal}, which other users may not read and ` +
    `enter. Run org as a normal user, or let others read it (chmod o+rx on the folder), or set ` +
    `sandbox.workspace to "none" in org.config.json to say nothing of it.`
  );
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}
