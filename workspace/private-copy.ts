import { chmodSync, constants, copyFileSync, lchownSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { type ChangeSet, computeChangeSet } from "./change-set.ts";
import { type EntryState, entryState, sameState, snapshotTree, type TreeSnapshot } from "./tree-snapshot.ts";

/**
 * A private, writable copy of a workspace (without `.org/` and `.git/`) that sandboxed commands may change,
 * and what both trees looked like when it was last brought level: what the copy changed since, and what the
 * user changed in the workspace meanwhile, are told apart by comparing states (no content read).
 */
export type PrivateCopy = {
  workspaceDir: string;
  copyDir: string;
  /** The workspace when the copy was last brought level with it. */
  workspaceBaseline: TreeSnapshot;
  /** The copy right after that. */
  copyBaseline: TreeSnapshot;
  /** Entries either tree may hold (a hostile command could make millions). */
  maxEntries: number;
  /** Give every copied entry to this uid (the sandbox's host uid when org runs as root), so the sandbox can write it. */
  owner?: number;
};

export const DEFAULT_COPY_ENTRIES = 200_000;

/**
 * Makes `copyDir` a copy of the workspace (creating it, or bringing an old copy level) and returns it with its
 * baselines. Files are copied (a reflink where the file system offers one), never hard-linked: the sandbox
 * could otherwise write through a link into the workspace. Special files (FIFOs, devices, sockets) are not copied.
 */
export function openPrivateCopy(options: { workspaceDir: string; copyDir: string; maxEntries?: number; owner?: number }): PrivateCopy {
  mkdirSync(options.copyDir, { recursive: true, mode: 0o700 });
  const copy: PrivateCopy = {
    workspaceDir: options.workspaceDir,
    copyDir: options.copyDir,
    workspaceBaseline: new Map(),
    copyBaseline: new Map(),
    maxEntries: options.maxEntries ?? DEFAULT_COPY_ENTRIES,
    ...(options.owner !== undefined ? { owner: options.owner } : {}),
  };
  refreshPrivateCopy(copy);
  return copy;
}

/**
 * Brings the copy level with the workspace before a call: every path that changed on either side since the
 * last refresh is copied again from the workspace, every path the workspace no longer has is removed. Both
 * baselines are then taken anew.
 */
export function refreshPrivateCopy(copy: PrivateCopy): void {
  const workspaceNow = snapshotTree(copy.workspaceDir, { maxEntries: copy.maxEntries });
  const copyNow = copySnapshot(copy);
  // Deepest first, so a folder is emptied before it is removed.
  for (const [path, state] of [...copyNow].reverse()) {
    // The write view mounts the real .git/ (read-only) on this folder; a sandbox waiting for its call may hold it.
    if (path === ".git" && state.type === "directory") continue;
    const wanted = copyable(workspaceNow.get(path));
    if (wanted === undefined || wanted.type !== state.type || (state.type !== "directory" && !unchanged(copy, path, wanted, state))) {
      rmSync(join(copy.copyDir, path), { recursive: true, force: true });
    }
  }
  const copyKept = copySnapshot(copy);
  for (const [path, state] of workspaceNow) {
    const wanted = copyable(state);
    if (wanted === undefined) continue;
    const target = join(copy.copyDir, path);
    const kept = copyKept.get(path);
    if (kept !== undefined) {
      if (wanted.type === "directory" && kept.type === "directory" && kept.mode !== wanted.mode) chmodSync(target, wanted.mode | 0o700);
      continue;
    }
    copyEntry(join(copy.workspaceDir, path), target, wanted);
    if (copy.owner !== undefined) lchownSync(target, copy.owner, copy.owner);
  }
  if (copy.owner !== undefined) lchownSync(copy.copyDir, copy.owner, copy.owner);
  copy.workspaceBaseline = workspaceNow;
  copy.copyBaseline = copySnapshot(copy);
}

/** The copy whole: a `.org/` or `.git/` file a command made there is a change, refused by the checks with its reason. */
function copySnapshot(copy: PrivateCopy): TreeSnapshot {
  return snapshotTree(copy.copyDir, { excludeTop: [], maxEntries: copy.maxEntries });
}

/** Paths the copy changed since it was last brought level (added, changed or removed; folders through what they hold). */
export function copyChangedPaths(copy: PrivateCopy): string[] {
  const now = copySnapshot(copy);
  const changed = new Set<string>();
  for (const [path, state] of now) if (state.type !== "directory" && !sameState(state, copy.copyBaseline.get(path))) changed.add(path);
  for (const [path, state] of copy.copyBaseline) if (state.type !== "directory" && !sameState(state, now.get(path))) changed.add(path);
  return [...changed].sort();
}

/** Of `paths`, those the user changed in the workspace since the copy was last brought level: a change to them conflicts. */
export function workspaceChangedPaths(copy: PrivateCopy, paths: Iterable<string>): string[] {
  const changed: string[] = [];
  for (const path of paths) {
    const before = copy.workspaceBaseline.get(path);
    const now = entryState(join(copy.workspaceDir, path));
    if (!sameState(before?.type === "directory" ? undefined : before, now?.type === "directory" ? undefined : now)) changed.push(path);
  }
  return changed;
}

/** What the copy changed since it was last brought level, against the workspace as it is now. */
export function takeChangeSet(copy: PrivateCopy, options: { maxFileBytes?: number } = {}): ChangeSet {
  return computeChangeSet({ baseDir: copy.workspaceDir, changedDir: copy.copyDir, paths: copyChangedPaths(copy), ...options });
}

/** Whether a copy entry still stands for the workspace's: neither side changed since the baselines. */
function unchanged(copy: PrivateCopy, path: string, workspaceState: EntryState, copyState: EntryState): boolean {
  return sameState(workspaceState, copy.workspaceBaseline.get(path)) && sameState(copyState, copy.copyBaseline.get(path));
}

/** Only what a workspace view carries: files, links and folders (at the top, never `.org/` or `.git/`). */
function copyable(state: EntryState | undefined): EntryState | undefined {
  if (state === undefined) return undefined;
  return state.type === "file" || state.type === "symlink" || state.type === "directory" ? state : undefined;
}

function copyEntry(source: string, target: string, state: EntryState): void {
  if (state.type === "directory") {
    mkdirSync(target, { mode: 0o700 });
    chmodSync(target, state.mode | 0o700);
  } else if (state.type === "symlink") {
    symlinkSync(state.target, target);
  } else if (state.type === "file") {
    mkdirSync(dirname(target), { recursive: true });
    // copyFileSync follows a link at `source`: the state was lstat'ed a moment ago as a plain file; a swap now is
    // the user's own doing in their own workspace, and lands only in this private copy.
    copyFileSync(source, target, constants.COPYFILE_FICLONE);
    chmodSync(target, state.mode);
  }
}
