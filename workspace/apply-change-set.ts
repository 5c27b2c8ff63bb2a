import { join } from "node:path";
import { replaceInsideWorkspace, type WorkspaceEntry } from "../security/safe-file-write.ts";
import { type ChangeSet, type FileChange, type FileVersion, readVersion } from "./change-set.ts";
import { escapeName } from "./check-change-set.ts";
import { OrgError } from "../errors/org-error.ts";

/** Files changed in the workspace since the change was made: applying it would lose someone's work. */
export class ChangeConflictError extends OrgError {
  override name = "ChangeConflictError";
  constructor(
    readonly paths: string[],
    what: string,
  ) {
    super(
      `${what} was not applied: ${paths.length === 1 ? "this file was" : "these files were"} changed in the ` +
        `workspace meanwhile: ${paths.map(escapeName).join(", ")}. Nothing was written; both versions are kept.`,
    );
  }
}

/**
 * Of the change set's paths, those whose workspace state is neither the change's `before` nor its `after` (content,
 * link target, executable bit): a change made on an older view of them conflicts. One already as the change makes it
 * loses nothing when written again, so a change cut short by a crash (its record written first) applies or undoes whole.
 */
export function conflictingPaths(workspaceDir: string, changeSet: ChangeSet): string[] {
  return changeSet.changes
    .filter((change) => {
      const now = readVersion(join(workspaceDir, change.path), largest(change));
      return !sameVersion(now, change.before) && !sameVersion(now, change.after);
    })
    .map((change) => change.path);
}

/**
 * Writes a checked change set into the workspace through the safe writer (no link followed, nothing outside
 * it, never `.org/` or `.git`): removals first, then files and links. Refused whole with ChangeConflictError
 * when a file changed meanwhile, unless `force`. Should a write fail midway, what was written is put back.
 */
export function applyChangeSet(workspaceDir: string, changeSet: ChangeSet, options: { force?: boolean; what?: string } = {}): void {
  const conflicts = conflictingPaths(workspaceDir, changeSet);
  if (conflicts.length > 0 && !options.force) throw new ChangeConflictError(conflicts, options.what ?? "the change");
  const ordered = [
    ...changeSet.changes.filter((change) => change.after === undefined).reverse(),
    ...changeSet.changes.filter((change) => change.after !== undefined),
  ];
  const done: FileChange[] = [];
  try {
    for (const change of ordered) {
      replaceInsideWorkspace(workspaceDir, change.path, entryOf(change.after, change.path));
      done.push(change);
    }
  } catch (error) {
    for (const change of done.reverse()) {
      try {
        replaceInsideWorkspace(workspaceDir, change.path, entryOf(change.before, change.path));
      } catch {
        // The first error is the one to report.
      }
    }
    throw error;
  }
}

/** The change set that undoes this one: each path back to its `before`. */
export function reverseChangeSet(changeSet: ChangeSet): ChangeSet {
  return {
    changes: changeSet.changes.map((change) => ({
      path: change.path,
      status: change.status === "added" ? "deleted" : change.status === "deleted" ? "added" : change.status,
      ...(change.after ? { before: change.after } : {}),
      ...(change.before ? { after: change.before } : {}),
    })),
  };
}

/** What the safe writer makes of a version (undefined: absent); "unknown" for one it cannot write (no content read, a FIFO…). */
export function writableEntry(version: FileVersion | undefined): WorkspaceEntry | "unknown" {
  if (version === undefined) return undefined;
  if (version.type === "symlink") return { type: "symlink", target: version.target };
  if (version.type === "file" && version.content !== undefined) return { type: "file", content: version.content, mode: version.mode };
  return "unknown";
}

function entryOf(version: FileVersion | undefined, path: string): WorkspaceEntry {
  const entry = writableEntry(version);
  if (entry === "unknown")
    throw new RangeError(`${escapeName(path)} cannot be written: only files with content and links are; check the change set first`);
  return entry;
}

function largest(change: FileChange): number {
  const sizes = [change.before, change.after].map((version) => (version?.type === "file" ? version.size : 0));
  return Math.max(...sizes, 0);
}

/** Same content, link target or kind, and the same executable bit. */
export function sameVersion(a: FileVersion | undefined, b: FileVersion | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.type === "file" && b.type === "file") {
    if (a.size !== b.size || (a.mode & 0o111) !== (b.mode & 0o111) || a.content === undefined || b.content === undefined) return false;
    return Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength).equals(b.content);
  }
  if (a.type === "symlink" && b.type === "symlink") return a.target === b.target;
  return a.type === b.type;
}
