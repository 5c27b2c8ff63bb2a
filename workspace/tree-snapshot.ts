import { type BigIntStats, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";

/**
 * What one path of a tree is, as `lstat` sees it: never through a link. `blocks` are the 512-byte blocks it holds on
 * disk, as the sandbox's watchdog counts a tree (`measureTree`).
 */
export type EntryState =
  | { type: "file"; mode: number; size: number; mtimeNs: bigint; ctimeNs: bigint; ino: bigint; blocks: number }
  | { type: "symlink"; target: string; blocks: number }
  | { type: "directory"; mode: number; blocks: number }
  | { type: "fifo" | "device" | "socket" };

/** Every path of a tree (workspace-relative, `/`-separated) and what it is, in walk order. */
export type TreeSnapshot = Map<string, EntryState>;

/** The top folders a view of the workspace never carries: org's own state and git's. */
export const EXCLUDED_TOP = [ORG_DIR, ".git"] as const;

/** A tree holds more entries than a snapshot may list; the message says how many were allowed. */
export class TreeTooLargeError extends Error {
  override name = "TreeTooLargeError";
}

/**
 * The state of every path under `root`, without following any link. Top-level names in `excludeTop` are left
 * out (with all below them). Throws TreeTooLargeError past `maxEntries`, so a hostile tree cannot make the walk
 * unbounded.
 */
export function snapshotTree(root: string, options: { excludeTop?: readonly string[]; maxEntries?: number } = {}): TreeSnapshot {
  const excluded = new Set(options.excludeTop ?? EXCLUDED_TOP);
  const maxEntries = options.maxEntries ?? Number.POSITIVE_INFINITY;
  const snapshot: TreeSnapshot = new Map();
  const walk = (directory: string, prefix: string) => {
    for (const name of readdirSync(directory).sort()) {
      if (prefix === "" && excluded.has(name)) continue;
      const path = prefix === "" ? name : `${prefix}/${name}`;
      const absolute = join(directory, name);
      const state = entryState(absolute);
      if (state === undefined) continue;
      if (snapshot.size >= maxEntries) {
        throw new TreeTooLargeError(`the tree holds more than ${maxEntries} entries; org compares at most that many`);
      }
      snapshot.set(path, state);
      if (state.type === "directory") walk(absolute, path);
    }
  };
  walk(root, "");
  return snapshot;
}

/** The state of one path, or undefined when it is gone. */
export function entryState(path: string): EntryState | undefined {
  let stat: BigIntStats;
  try {
    stat = lstatSync(path, { bigint: true });
  } catch {
    return undefined;
  }
  const blocks = Number(stat.blocks);
  if (stat.isFile()) {
    return {
      type: "file",
      mode: Number(stat.mode & 0o7777n),
      size: Number(stat.size),
      mtimeNs: stat.mtimeNs,
      ctimeNs: stat.ctimeNs,
      ino: stat.ino,
      blocks,
    };
  }
  if (stat.isDirectory()) return { type: "directory", mode: Number(stat.mode & 0o7777n), blocks };
  if (stat.isSymbolicLink()) return { type: "symlink", target: readlinkSync(path), blocks };
  if (stat.isFIFO()) return { type: "fifo" };
  if (stat.isSocket()) return { type: "socket" };
  return { type: "device" };
}

/**
 * The state of the workspace-relative `path` below `root` as a walk of `root` sees it: undefined when a folder on the
 * way is a link (or no folder), which a walk never enters. A link a command put in place of a folder is never
 * followed to what lies below it, there or on the host.
 */
export function entryStateBelow(root: string, path: string): EntryState | undefined {
  const parts = path.split("/");
  for (let depth = 1; depth < parts.length; depth += 1) {
    if (entryState(join(root, ...parts.slice(0, depth)))?.type !== "directory") return undefined;
  }
  return entryState(join(root, path));
}

/**
 * The bytes and entries a tree held when `snapshot` was taken, counted as the sandbox's watchdog counts a tree
 * (`measureTree`: allocated blocks, a hard-linked file once, links and folders too), without a walk.
 */
export function heldBySnapshot(snapshot: TreeSnapshot): { bytes: number; entries: number } {
  let bytes = 0;
  const files = new Set<bigint>();
  for (const state of snapshot.values()) {
    if (state.type === "file" && files.has(state.ino)) continue;
    if (state.type === "file") files.add(state.ino);
    if ("blocks" in state) bytes += state.blocks * 512;
  }
  return { bytes, entries: snapshot.size };
}

/** Whether two states are the same without reading content: same kind, mode, size, times and inode. */
export function sameState(a: EntryState | undefined, b: EntryState | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.type !== b.type) return false;
  if (a.type === "file" && b.type === "file") {
    return a.mode === b.mode && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino;
  }
  if (a.type === "symlink" && b.type === "symlink") return a.target === b.target;
  if (a.type === "directory" && b.type === "directory") return a.mode === b.mode;
  return true;
}
