import { chmodSync, constants, copyFileSync, lchownSync, mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { type ChangeSet, computeChangeSet } from "./change-set.ts";
import { secretPathMatcher } from "./check-change-set.ts";
import { type EntryState, entryState, entryStateBelow, sameState, snapshotTree, TreeTooLargeError, type TreeSnapshot } from "./tree-snapshot.ts";

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
  /** The copy right after that, kept up to date for every path org itself changed there since. */
  copyBaseline: TreeSnapshot;
  /**
   * The copy's paths that may differ from `copyBaseline`: what the last command changed (`copyChangedPaths`);
   * undefined when a command may have changed anything since (handed to a sandbox, or unknown), so the next
   * refresh walks the copy.
   */
  dirty: Set<string> | undefined;
  /** Entries either tree may hold (a hostile command could make millions). */
  maxEntries: number;
  /** `sandbox.secretPaths`: files (and folders) of the workspace never copied, so a command never sees them. */
  secretPaths: readonly string[];
  /** Give every copied entry to this uid (the sandbox's host uid when org runs as root), so the sandbox can write it. */
  owner?: number;
};

export const DEFAULT_COPY_ENTRIES = 200_000;

/**
 * Makes `copyDir` a copy of the workspace (creating it, or bringing an old copy level: without baselines every
 * entry is copied again) and returns it with its baselines. Files are copied (a reflink where the file system
 * offers one), never hard-linked: the sandbox could otherwise write through a link into the workspace. Special
 * files (FIFOs, devices, sockets) and secret paths (`secretPaths`; none for a copy no command sees) are not copied.
 */
export function openPrivateCopy(options: {
  workspaceDir: string;
  copyDir: string;
  secretPaths: readonly string[];
  maxEntries?: number;
  owner?: number;
  /** What both trees were when this copy was last level (kept across sessions by `takeSpare`): only what changed since is copied. */
  baselines?: { workspace: TreeSnapshot; copy: TreeSnapshot };
}): PrivateCopy {
  mkdirSync(options.copyDir, { recursive: true, mode: 0o700 });
  const copy: PrivateCopy = {
    workspaceDir: options.workspaceDir,
    copyDir: options.copyDir,
    workspaceBaseline: options.baselines?.workspace ?? new Map(),
    copyBaseline: options.baselines?.copy ?? new Map(),
    dirty: undefined,
    maxEntries: options.maxEntries ?? DEFAULT_COPY_ENTRIES,
    secretPaths: options.secretPaths,
    ...(options.owner !== undefined ? { owner: options.owner } : {}),
  };
  if (options.baselines) forgetSecretChanges(copy);
  refreshPrivateCopy(copy);
  return copy;
}

/**
 * Baselines kept from another session may have been made under other `secretPaths`: a path secret now is forgotten
 * from the copy's (so the refresh removes it from the copy), one no longer secret that the copy lacks from the
 * workspace's (so the refresh copies it).
 */
function forgetSecretChanges(copy: PrivateCopy): void {
  const isSecret = secretPathMatcher(copy.secretPaths);
  for (const path of copy.copyBaseline.keys()) if (isSecret(path) !== undefined) copy.copyBaseline.delete(path);
  for (const [path, state] of copy.workspaceBaseline) {
    if (isSecret(path) === undefined && copyable(state) !== undefined && !copy.copyBaseline.has(path)) copy.workspaceBaseline.delete(path);
  }
}

/**
 * Brings the copy level with the workspace before a call: every path the user changed in the workspace since
 * the last refresh (one walk of the workspace), and every path the copy changed (known from the last command's
 * `copyChangedPaths`, else one walk of the copy), is copied again from the workspace or removed. Nothing else is
 * touched, so a later call costs a walk, not a copy. The baselines are then brought up to date.
 */
export function refreshPrivateCopy(copy: PrivateCopy): void {
  const workspaceNow = snapshotTree(copy.workspaceDir, { maxEntries: copy.maxEntries });
  const fix = changedSince(workspaceNow, copy.workspaceBaseline);
  let copyChanged = copy.dirty;
  if (copyChanged === undefined) {
    try {
      copyChanged = changedSince(copySnapshot(copy), copy.copyBaseline);
    } catch (error) {
      if (!(error instanceof TreeTooLargeError)) throw error;
      // A command filled the copy past the bound: start it again from nothing.
      emptyCopy(copy);
      copyChanged = new Set();
      for (const path of workspaceNow.keys()) fix.add(path);
    }
  }
  for (const path of copyChanged) fix.add(path);
  level(copy, workspaceNow, fix);
  copy.workspaceBaseline = workspaceNow;
  // The copy is level now and goes to a command, which may change anything: until `copyChangedPaths` says what it
  // changed, the next refresh walks the copy.
  copy.dirty = undefined;
}

/** Makes each path in `fix` in the copy what it is in `workspaceNow` (absent, a folder, a file or a link), and records its new state. */
function level(copy: PrivateCopy, workspaceNow: TreeSnapshot, fix: ReadonlySet<string>): void {
  const isSecret = secretPathMatcher(copy.secretPaths);
  // A secret path is wanted absent: never copied, and removed should a command have made it.
  const wantedAt = (path: string) => (isSecret(path) === undefined ? copyable(workspaceNow.get(path)) : undefined);
  // Sorted, a folder comes before what it holds: a folder removed whole takes what it holds with it, unvisited (a
  // command's node_modules is one removal, not one per file).
  const sorted = [...fix].sort();
  const removedFolders = new Set<string>();
  for (const path of sorted) {
    // The write view mounts the real .git/ (read-only) on this folder; a sandbox waiting for its call may hold it.
    if (path === ".git" || isBelow(path, removedFolders)) continue;
    // Below a link a command put in place of a folder lies no entry of the copy: the link itself goes, never what it points at.
    const have = entryStateBelow(copy.copyDir, path);
    if (have === undefined) continue;
    const wanted = wantedAt(path);
    if (wanted === undefined || wanted.type !== have.type || have.type !== "directory") {
      rmSync(join(copy.copyDir, path), { recursive: true, force: true });
      if (have.type === "directory") removedFolders.add(path);
    }
  }
  forgetBelow(copy.copyBaseline, removedFolders);
  for (const path of sorted) {
    const wanted = wantedAt(path);
    // Gone with its folder, and forgotten with it; the workspace holds nothing below a folder the copy had to remove.
    if (wanted === undefined && isBelow(path, removedFolders)) continue;
    const target = join(copy.copyDir, path);
    if (wanted !== undefined) {
      const have = entryStateBelow(copy.copyDir, path);
      if (have === undefined) {
        if (!makeParents(copy, workspaceNow, path)) continue;
        copyEntry(join(copy.workspaceDir, path), target, wanted);
        if (copy.owner !== undefined) lchownSync(target, copy.owner, copy.owner);
      } else if (wanted.type === "directory" && have.type === "directory" && have.mode !== (wanted.mode | 0o700)) {
        chmodSync(target, wanted.mode | 0o700);
      }
    }
    const now = entryStateBelow(copy.copyDir, path);
    if (now === undefined) copy.copyBaseline.delete(path);
    else copy.copyBaseline.set(path, now);
  }
  if (copy.owner !== undefined) lchownSync(copy.copyDir, copy.owner, copy.owner);
}

/**
 * The folders above `path` that the copy lacks (a command removed them), made as the workspace has them; false (and
 * nothing made) when one on the way is there but no folder (a link), which is never written through.
 */
function makeParents(copy: PrivateCopy, workspaceNow: TreeSnapshot, path: string): boolean {
  const parts = path.split("/");
  for (let depth = 1; depth < parts.length; depth += 1) {
    const folder = parts.slice(0, depth).join("/");
    const target = join(copy.copyDir, folder);
    const have = entryState(target);
    if (have?.type === "directory") continue;
    if (have !== undefined) return false;
    const state = workspaceNow.get(folder);
    copyEntry("", target, state?.type === "directory" ? state : { type: "directory", mode: 0o755, blocks: 0 });
    if (copy.owner !== undefined) lchownSync(target, copy.owner, copy.owner);
    const now = entryState(target);
    if (now) copy.copyBaseline.set(folder, now);
  }
  return true;
}

/** Whether a folder of `folders` holds `path` (at any depth). */
function isBelow(path: string, folders: ReadonlySet<string>): boolean {
  if (folders.size === 0) return false;
  for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
    if (folders.has(path.slice(0, slash))) return true;
  }
  return false;
}

/** Drops from a snapshot every path below the given folders. */
function forgetBelow(snapshot: TreeSnapshot, folders: ReadonlySet<string>): void {
  if (folders.size === 0) return;
  for (const path of snapshot.keys()) if (isBelow(path, folders)) snapshot.delete(path);
}

/** Empties the copy (but the folder the real .git/ is mounted on) and forgets its baselines: the next level copies everything. */
function emptyCopy(copy: PrivateCopy): void {
  for (const name of readdirSync(copy.copyDir)) if (name !== ".git") rmSync(join(copy.copyDir, name), { recursive: true, force: true });
  copy.copyBaseline = new Map();
}

/** The copy whole: a `.org/` or `.git/` file a command made there is a change, refused by the checks with its reason. */
function copySnapshot(copy: PrivateCopy): TreeSnapshot {
  return snapshotTree(copy.copyDir, { excludeTop: [], maxEntries: copy.maxEntries });
}

/** Every path whose state differs between a snapshot and a baseline, folders included. */
function changedSince(now: TreeSnapshot, baseline: TreeSnapshot): Set<string> {
  const changed = new Set<string>();
  for (const [path, state] of now) if (!sameState(state, baseline.get(path))) changed.add(path);
  for (const path of baseline.keys()) if (!now.has(path)) changed.add(path);
  return changed;
}

/**
 * Paths the copy changed since it was last brought level (added, changed or removed; folders through what they
 * hold), from one walk of the copy. The next refresh puts back only these (and the user's changes).
 */
export function copyChangedPaths(copy: PrivateCopy): string[] {
  const now = copySnapshot(copy);
  const changed = changedSince(now, copy.copyBaseline);
  copy.dirty = changed;
  const isFolder = (state: EntryState | undefined) => state === undefined || state.type === "directory";
  return [...changed].filter((path) => !(isFolder(now.get(path)) && isFolder(copy.copyBaseline.get(path)))).sort();
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
