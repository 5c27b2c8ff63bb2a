import { lstatSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import { DEFAULT_SECRET_PATHS } from "../config/secret-paths.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { SANDBOX_HOST_UID } from "../sandbox/bwrap-argv.ts";
import type { SandboxOptions } from "../sandbox/run-sandboxed.ts";
import { type SandboxPolicy, WORKSPACE_MOUNT, type WorkspaceView } from "../sandbox/sandbox-policy.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { openPrivateCopy, type PrivateCopy, refreshPrivateCopy } from "./private-copy.ts";
import { SecretFileScan } from "./secret-files.ts";
import { releaseAsSpare, takeSpare } from "./spare-copy.ts";
import { heldBySnapshot, TreeTooLargeError } from "./tree-snapshot.ts";

/** Where each session's private copy lives: `.org/workspaces/<session>`. */
export const COPIES_DIR = join(ORG_DIR, "workspaces");

/** The mounts of one call: how a command sees the workspace, where it starts, and the private copy it writes (write view). */
export type ViewMounts = Pick<SandboxOptions, "readOnlyMounts" | "writableMounts" | "grownMounts" | "maskedDirs" | "maskedFiles" | "workingDir"> & {
  copy?: PrivateCopy;
  /** Why the workspace is not shown this call, with the fix; the command then starts in /scratch. */
  notShown?: string;
};

// One copy per session folder, kept between calls so a refresh copies again only what changed; and one lock per
// folder, so two commands of a session (two personas at once) never run on, or compare, the same copy together.
const copies = new Map<string, PrivateCopy>();
const copyLocks = new Map<string, FifoSemaphore>();
// The read view's scans of secret files, per workspace and list, kept so a repeated call reads only changed folders.
const secretScans = new Map<string, SecretFileScan>();
const REMEMBERED_SCANS = 8;
// The folder the real .git/ is mounted on in the copy (the baseline never holds it): one entry, one folder's blocks.
const EMPTY_FOLDER_BYTES = 4096;

/** Who asks for a view: the session (whose copy the write view uses) and its policy's `secretPaths`. */
export type ViewSession = { sessionId?: string; sandbox?: Pick<SandboxPolicy, "secretPaths"> };

/**
 * The sandbox mounts for `view`: "read" binds the workspace read-only at /workspace with `.org/` and every secret
 * folder hidden under an empty tmpfs and every secret file under an empty read-only file (a bind, not a copy: a big
 * tree costs a walk of its folders, and a repeated call an lstat of each); "write" binds the session's private copy,
 * brought level with the workspace first (no secret file in it), writable at /workspace, the real `.git/` read-only
 * over it; "none" mounts nothing (commands start in /scratch).
 */
export function workspaceMounts(view: WorkspaceView, workspaceDir: string, session: ViewSession): ViewMounts {
  const root = resolve(workspaceDir);
  const secretPaths = session.sandbox?.secretPaths ?? DEFAULT_SECRET_PATHS;
  if (view === "none") return {};
  if (view === "read") {
    const closed = closedToSandbox(root);
    if (closed) return { notShown: closed };
    ensurePrivateDir(join(root, ORG_DIR));
    let secrets: { files: string[]; folders: string[] };
    try {
      secrets = secretScan(root, secretPaths).scan();
    } catch (error) {
      if (!(error instanceof TreeTooLargeError)) throw error;
      return {
        notShown: `the workspace is not shown at ${WORKSPACE_MOUNT}: ${error.message}. Set sandbox.workspace to "none" in org.config.json, or start org in a smaller folder.`,
      };
    }
    const inside = (path: string) => `${WORKSPACE_MOUNT}/${path}`;
    return {
      readOnlyMounts: [{ source: root, target: WORKSPACE_MOUNT }],
      maskedDirs: [`${WORKSPACE_MOUNT}/${ORG_DIR}`, ...secrets.folders.map(inside)],
      ...(secrets.files.length > 0 ? { maskedFiles: secrets.files.map(inside) } : {}),
      workingDir: WORKSPACE_MOUNT,
    };
  }
  const copy = sessionCopy(root, session.sessionId, secretPaths);
  const gitDir = join(root, ".git");
  const git = isDirectory(gitDir) ? [{ source: gitDir, target: `${WORKSPACE_MOUNT}/.git` }] : [];
  // What the copy holds now (level with its baseline), counted as the watchdog counts: a command may add scratch's
  // bounds to it, no more.
  const held = heldBySnapshot(copy.copyBaseline);
  return {
    writableMounts: [{ source: copy.copyDir, target: WORKSPACE_MOUNT }],
    grownMounts: [{ dir: copy.copyDir, shownAs: WORKSPACE_MOUNT, heldBytes: held.bytes + EMPTY_FOLDER_BYTES, heldEntries: held.entries + 1 }],
    readOnlyMounts: git,
    workingDir: WORKSPACE_MOUNT,
    copy,
  };
}

/**
 * The session's private copy, made or brought level with the workspace. A session's first call takes the
 * workspace's spare copy (one a closed session left, `spare-copy.ts`) when there is one, so it too copies only
 * what changed since.
 */
export function sessionCopy(workspaceDir: string, sessionId: string | undefined, secretPaths: readonly string[] = DEFAULT_SECRET_PATHS): PrivateCopy {
  const { root, copyDir } = copyPlace(workspaceDir, sessionId);
  ensurePrivateDir(root);
  // As root the sandbox runs as its own uid, which must own what it may write.
  const owner = process.getuid?.() === 0 ? SANDBOX_HOST_UID : undefined;
  const known = copies.get(copyDir);
  if (known) {
    refreshPrivateCopy(known);
    return known;
  }
  const baselines = takeSpare(root, copyDir);
  const copy = openPrivateCopy({
    workspaceDir: resolve(workspaceDir),
    copyDir,
    secretPaths,
    ...(owner !== undefined ? { owner } : {}),
    ...(baselines ? { baselines } : {}),
  });
  copies.set(copyDir, copy);
  return copy;
}

/** Waits until no other command of this session works on its copy; the release function lets the next one in. */
export function lockSessionCopy(workspaceDir: string, sessionId: string | undefined, signal?: AbortSignal): Promise<() => void> {
  const { copyDir } = copyPlace(workspaceDir, sessionId);
  let lock = copyLocks.get(copyDir);
  if (!lock) {
    lock = new FifoSemaphore(1);
    copyLocks.set(copyDir, lock);
  }
  return lock.acquire(signal ? { signal } : {});
}

/**
 * A session is over: its copy becomes the workspace's spare (or is removed when there is one), so copies do not
 * pile up under `.org/workspaces/`, one per session (`keepSpare: false`: it is removed). Nothing happens for a
 * session that made none.
 */
export function releaseSessionCopy(workspaceDir: string, sessionId: string | undefined, options: { keepSpare?: boolean } = {}): void {
  const { root, copyDir } = copyPlace(workspaceDir, sessionId);
  const copy = copies.get(copyDir);
  if (!copy) return;
  copies.delete(copyDir);
  copyLocks.delete(copyDir);
  if (options.keepSpare !== false && levelled(copy)) releaseAsSpare(copy, root);
  else rmSync(copyDir, { recursive: true, force: true });
}

/** The scan of `root`'s secret files under `secretPaths`, kept from the last call when there was one. */
function secretScan(root: string, secretPaths: readonly string[]): SecretFileScan {
  const key = `${root}\0${secretPaths.join("\0")}`;
  const scan = secretScans.get(key) ?? new SecretFileScan(root, secretPaths);
  secretScans.delete(key);
  secretScans.set(key, scan);
  for (const stale of [...secretScans.keys()].slice(0, -REMEMBERED_SCANS)) secretScans.delete(stale);
  return scan;
}

/** Brings a closing session's copy level, so what its last command left there unapplied is not kept; false when it cannot be. */
function levelled(copy: PrivateCopy): boolean {
  try {
    refreshPrivateCopy(copy);
    return true;
  } catch {
    return false;
  }
}

/** Where a session's copy lives: `root`, the workspace's copies folder, and `copyDir`, the session's own in it. */
function copyPlace(workspaceDir: string, sessionId: string | undefined): { root: string; copyDir: string } {
  const root = join(resolve(workspaceDir), COPIES_DIR);
  return { root, copyDir: join(root, safeName(sessionId ?? "default")) };
}

function safeName(session: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(session) ? session : new Bun.CryptoHasher("sha256").update(session).digest("hex").slice(0, 16);
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
