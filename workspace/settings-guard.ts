import { type Dirent, readdirSync } from "node:fs";
import { join } from "node:path";
import { SETTINGS_PATHS } from "../config/workspace-paths.ts";
import { linkOnTheWay } from "../config/link-on-the-way.ts";
import { replaceInsideWorkspace } from "../security/safe-file-write.ts";
import { type FileVersion, readVersion } from "./change-set.ts";
import { sameVersion, writableEntry } from "./apply-change-set.ts";
import { folded } from "./check-change-set.ts";
import { fromRoot, patternMatcher } from "./path-glob.ts";

// A program that runs on the host as the user (an MCP server the user configured) may be told by a model to write
// anywhere it can. org cannot stop that as it happens, but it can stop it from taking effect on org: the files org
// and its runtime read settings from, and what org offers later (promoted tools, served workflows), are read
// before such a call and put back after it when the call changed them. The rest of the workspace is the user's
// and the server's business (and the approval question's).

/** Bytes read of one guarded file; a bigger one is compared by size and mode only, and not put back. */
const MAX_GUARDED_BYTES = 4 * 1024 * 1024;
/** Files of a guarded folder looked at; past that the rest is not guarded (a workspace of org's own holds far fewer). */
const MAX_GUARDED_FILES = 2_000;

/** The guarded files as they were: workspace-relative path → version (undefined: absent). */
export type SettingsSnapshot = Map<string, FileVersion | undefined>;

/** Reads the guarded files of `workspaceDir`: `SETTINGS_PATHS` (org.config.json, bunfig.toml, .npmrc, .env*, workflows/*.json, tools/generated/**).
 *
 */
export function snapshotSettings(workspaceDir: string): SettingsSnapshot {
  const snapshot: SettingsSnapshot = new Map();
  for (const path of guardedPaths(workspaceDir)) snapshot.set(path, readVersion(join(workspaceDir, path), MAX_GUARDED_BYTES));
  return snapshot;
}

/**
 * The guarded files that differ from `before` (changed, removed, or new), each put back as it was: bytes and mode
 * written again, a new one removed, through the safe writer (no link followed). Returns their paths, sorted; a path
 * that could not be put back is named with why in `unrestored`.
 */
export function restoreSettings(workspaceDir: string, before: SettingsSnapshot): { changed: string[]; unrestored: string[] } {
  const paths = new Set([...before.keys(), ...guardedPaths(workspaceDir)]);
  const changed: string[] = [];
  const unrestored: string[] = [];
  for (const path of [...paths].sort()) {
    const was = before.get(path);
    const now = readVersion(join(workspaceDir, path), MAX_GUARDED_BYTES);
    if (unchanged(was, now)) continue;
    changed.push(path);
    const entry = writableEntry(was);
    if (entry === "unknown") {
      unrestored.push(`${path} (its earlier bytes were not read)`);
      continue;
    }
    try {
      replaceInsideWorkspace(workspaceDir, path, entry);
    } catch (error) {
      unrestored.push(`${path} (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  return { changed, unrestored };
}

/**
 * One snapshot shared by the guarded calls that overlap in a workspace: the first to start reads the files, each
 * one puts back against that first reading when it ends, and the last to end lets it go. Two snapshots would undo
 * each other: a call started after another changed a file would "put back" the change the first call undid.
 */
export class SettingsGuard {
  private readonly open = new Map<string, { snapshot: SettingsSnapshot; calls: number }>();

  /** Runs `call` with the guarded files of `workspaceDir` read before it and put back after it; returns what changed. */
  async around<T>(workspaceDir: string, call: () => Promise<T>): Promise<{ value: T; changed: string[]; unrestored: string[] }> {
    let entry = this.open.get(workspaceDir);
    if (entry === undefined) {
      entry = { snapshot: snapshotSettings(workspaceDir), calls: 0 };
      this.open.set(workspaceDir, entry);
    }
    entry.calls += 1;
    try {
      const value = await call();
      return { value, ...restoreSettings(workspaceDir, entry.snapshot) };
    } catch (error) {
      restoreSettings(workspaceDir, entry.snapshot);
      throw error;
    } finally {
      entry.calls -= 1;
      if (entry.calls === 0) this.open.delete(workspaceDir);
    }
  }
}

/** The same version; a file too big to read is taken as unchanged when its size and mode are. */
function unchanged(was: FileVersion | undefined, now: FileVersion | undefined): boolean {
  if (was?.type === "file" && now?.type === "file" && (was.content === undefined || now.content === undefined)) {
    return was.content === undefined && now.content === undefined && was.size === now.size && was.mode === now.mode;
  }
  return sameVersion(was, now);
}

/**
 * The guarded paths present now, workspace-relative: what matches `SETTINGS_PATHS` where org reads it, the top folder
 * for a bare name and the pattern's own folder for the others.
 */
function guardedPaths(workspaceDir: string): string[] {
  const matches = patternMatcher();
  const top = names(workspaceDir);
  const paths = new Set<string>();
  for (const pattern of SETTINGS_PATHS) {
    if (!pattern.includes("/")) {
      // Folded, as the change checks match them: on a case-insensitive file system `.ENV` is the `.env` bun reads.
      for (const name of top) if (matches(fromRoot(folded(pattern)), folded(name))) paths.add(name);
      continue;
    }
    const folder = fixedFolder(pattern);
    // A link on the way to the folder is guarded itself (a new one is removed), and nothing is read through it.
    const link = linkOnTheWay(workspaceDir, folder);
    if (link !== undefined) paths.add(link);
    else for (const path of filesUnder(workspaceDir, folder)) if (matches(pattern, path)) paths.add(path);
  }
  return [...paths];
}

/** The folders of a pattern before its first glob: `tools/generated` of `tools/generated/**`. */
function fixedFolder(pattern: string): string {
  const parts = pattern.split("/");
  const glob = parts.findIndex((part) => /[*?[{]/.test(part));
  return parts.slice(0, glob === -1 ? -1 : glob).join("/");
}

function names(directory: string): string[] {
  try {
    return readdirSync(directory);
  } catch {
    return [];
  }
}

/** Files (and links) under `relative`, walked without following links, at most MAX_GUARDED_FILES. */
function filesUnder(workspaceDir: string, relative: string): string[] {
  const found: string[] = [];
  const pending = [relative];
  for (let folder = pending.pop(); folder !== undefined && found.length < MAX_GUARDED_FILES; folder = pending.pop()) {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(workspaceDir, folder), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory()) pending.push(path);
      else found.push(path);
    }
  }
  return found.slice(0, MAX_GUARDED_FILES);
}
