import { realpathSync } from "node:fs";
import { isAbsolute, relative } from "node:path";
import { REPO_DIR } from "./org-invocation.ts";

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * The line that says a tool went to org's own clone while the user ran org from another directory (a project):
 * `tool new` and `grow` make branches, worktrees and merges in the checkout org runs from, and a later `git pull`
 * of org there meets them. Undefined when the repository is not org's own checkout, or `from` lies inside it.
 * `went` names what went there; `onMain` says whether main itself moved (a promotion or a rollback).
 */
export function orgCloneNote(options: { repoDir: string; from: string; went: string; onMain: boolean }, orgDir = REPO_DIR): string | undefined {
  const repo = real(options.repoDir);
  if (repo !== real(orgDir)) return undefined;
  const from = real(options.from);
  const inside = relative(repo, from);
  if (inside === "" || !(inside.startsWith("..") || isAbsolute(inside))) return undefined;
  const pull = options.onMain
    ? "its main moved, so a later 'git pull' of org there will need a merge"
    : "promoting it merges it into that clone's main, and a later 'git pull' of org there will then need a merge";
  return `note: ${options.went} went to org's own clone ${repo}, not to ${from} where you ran this; ${pull}.`;
}
