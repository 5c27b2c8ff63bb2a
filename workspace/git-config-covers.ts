import { chmodSync, lstatSync, readdirSync, readFileSync, realpathSync, renameSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { type ConfigWithoutCredentials, gitConfigWithoutCredentials } from "./git-config-credentials.ts";
import type { ReadOnlyMount } from "../sandbox/bwrap-argv.ts";
import { WORKSPACE_MOUNT } from "../sandbox/sandbox-policy.ts";
import { ensurePrivateDir, writePrivateFile } from "../security/private-state.ts";
import { readFileNoFollow } from "./change-set.ts";

// A repository's config may hold what authenticates to its server: a token in a remote's URL, an extra header, a
// credential helper with a password in it. Both views show the agents each git config of the workspace (the top
// repository's, a submodule's, a nested repository's, a bare one's) as a copy without those (`git-config-credentials.ts`),
// mounted read-only over it, so git still works in there and no credential reaches a model.

/** Where the copies shown in place of the workspace's git configs are kept: `.org/views/git/`. */
const COVERS_DIR = join(ORG_DIR, "views", "git");
/** A config larger than this is shown empty. */
const MAX_CONFIG_BYTES = 1024 * 1024;
/** Entries looked at under a top `.git`'s `modules/` and `worktrees/` at most. */
const MAX_GIT_DIR_ENTRIES = 4096;

/**
 * Whether a workspace-relative path is named as a git config is, were its folder a git dir: `config`,
 * `config.worktree`, or any file in `remotes/` or `branches/`. Plain string tests: a walk asks it of every file.
 */
export function gitConfigName(path: string): boolean {
  const slash = path.lastIndexOf("/");
  const name = path.slice(slash + 1);
  if (name === "config" || name === "config.worktree") return true;
  if (slash === -1) return false;
  const folder = path.slice(path.lastIndexOf("/", slash - 1) + 1, slash);
  return folder === "remotes" || folder === "branches";
}

/** The git dir a config candidate would belong to: its folder, or for `remotes/x` and `branches/x` the one above. */
function gitDirOf(path: string): string {
  const folder = dirname(path);
  return basename(path) === "config" || basename(path) === "config.worktree" ? folder : dirname(folder);
}

/** Whether a folder is a git dir: a `HEAD` file, and `objects/` or a `commondir` file (a worktree's). */
function isGitDir(absolute: string): boolean {
  const is = (name: string, kind: "file" | "directory") => {
    try {
      const stat = lstatSync(join(absolute, name));
      return kind === "file" ? stat.isFile() : stat.isDirectory();
    } catch {
      return false;
    }
  };
  return is("HEAD", "file") && (is("objects", "directory") || is("commondir", "file"));
}

/**
 * Of workspace-relative paths named like git configs (`gitConfigName`), those that are one: their git dir is one. The
 * paths are the caller's walk's (the read view's scan of secret files, the write view's copy).
 */
export function gitConfigsAmong(root: string, candidates: Iterable<string>): string[] {
  const gitDirs = new Map<string, boolean>();
  const found: string[] = [];
  for (const path of candidates) {
    const gitDir = gitDirOf(path);
    let known = gitDirs.get(gitDir);
    if (known === undefined) {
      known = isGitDir(join(root, gitDir));
      gitDirs.set(gitDir, known);
    }
    if (known) found.push(path);
  }
  return found;
}

/**
 * The configs of the workspace's top `.git` (which neither view's walk enters): its own, its worktrees' and every
 * submodule's under `modules/`, and their `remotes/` and `branches/` files; bounded. None when `.git` is no folder.
 */
export function topGitConfigs(root: string): string[] {
  const found: string[] = [];
  let budget = MAX_GIT_DIR_ENTRIES;
  const list = (folder: string) => {
    try {
      const entries = readdirSync(join(root, folder), { withFileTypes: true });
      budget -= entries.length;
      return budget < 0 ? [] : entries;
    } catch {
      return [];
    }
  };
  const gitDir = (folder: string): void => {
    for (const entry of list(folder)) {
      const path = `${folder}/${entry.name}`;
      if ((entry.isFile() || entry.isSymbolicLink()) && gitConfigName(path)) found.push(path);
      else if (entry.isDirectory() && (entry.name === "remotes" || entry.name === "branches")) {
        for (const file of list(path)) if (file.isFile() || file.isSymbolicLink()) found.push(`${path}/${file.name}`);
      } else if (entry.isDirectory() && (entry.name === "modules" || entry.name === "worktrees")) holding(path);
    }
  };
  // A folder of git dirs (a submodule's name may hold '/', so they nest).
  const holding = (folder: string): void => {
    for (const entry of list(folder)) {
      if (!entry.isDirectory()) continue;
      const path = `${folder}/${entry.name}`;
      if (isGitDir(join(root, path))) gitDir(path);
      else holding(path);
    }
  };
  if (isGitDir(join(root, ".git"))) gitDir(".git");
  return found;
}

/**
 * The covers of the given git configs (workspace-relative): each one's copy without credentials, written under
 * `.org/views/git/` (again only when it differs) and mounted over it at /workspace; a config that is a link inside the
 * workspace has its target covered (the link then shows the cover). A config too large or unreadable is shown empty.
 * `credentials` are what the configs held.
 */
export function gitConfigCovers(root: string, configs: readonly string[]): { covers: ReadOnlyMount[]; credentials: string[] } {
  const covers: ReadOnlyMount[] = [];
  const credentials: string[] = [];
  if (configs.length === 0) return { covers, credentials };
  const folder = ensurePrivateDir(join(root, COVERS_DIR));
  for (const path of shownConfigs(root, configs)) {
    const clean = cleanConfig(root, path);
    credentials.push(...clean.credentials);
    const source = join(folder, new Bun.CryptoHasher("sha256").update(path).digest("hex"));
    if (!holds(source, clean.text)) {
      // Nothing secret is left in it: the sandbox's uid (another one when org runs as root) must read it. Made whole
      // beside it and renamed over it, so a sandbox starting meanwhile binds the old copy or the new one.
      const temporary = `${source}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
      writePrivateFile(temporary, clean.text);
      chmodSync(temporary, 0o644);
      renameSync(temporary, source);
    }
    covers.push({ source, target: `${WORKSPACE_MOUNT}/${path}` });
  }
  return { covers, credentials: [...new Set(credentials)] };
}

/** The credentials the given git configs (workspace-relative) hold, for the redactor. */
export function gitConfigCredentials(root: string, configs: readonly string[]): string[] {
  return [...new Set(shownConfigs(root, configs).flatMap((path) => cleanConfig(root, path).credentials))];
}

/** The config at a workspace-relative path without its credentials (empty when it is too large or unreadable). */
function cleanConfig(root: string, path: string): ConfigWithoutCredentials {
  const bytes = readFileNoFollow(join(root, path), MAX_CONFIG_BYTES);
  return bytes === undefined ? { text: "", credentials: [] } : gitConfigWithoutCredentials(Buffer.from(bytes).toString("utf8"));
}

/** The paths the configs are shown at (`shownAt`), each once. */
function shownConfigs(root: string, configs: readonly string[]): string[] {
  if (configs.length === 0) return [];
  const realRoot = realpathSync(root);
  return [...new Set(configs.flatMap((config) => shownAt(realRoot, root, config)))];
}

/** Where a config is read inside: its own path, or for a link, where it leads when that is inside the workspace (else nowhere). */
function shownAt(realRoot: string, root: string, config: string): string[] {
  try {
    if (!lstatSync(join(root, config)).isSymbolicLink()) return [config];
    const target = relative(realRoot, realpathSync(join(root, config)));
    if (target === "" || target.startsWith("..") || target.split(sep)[0] === ORG_DIR) return [];
    return lstatSync(join(realRoot, target)).isFile() ? [target.split(sep).join("/")] : [];
  } catch {
    return [];
  }
}

function holds(path: string, text: string): boolean {
  try {
    return readFileSync(path, "utf8") === text && (lstatSync(path).mode & 0o777) === 0o644;
  } catch {
    return false;
  }
}
