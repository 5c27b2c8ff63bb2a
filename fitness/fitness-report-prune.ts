import { lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { candidateStates, LIVE_CANDIDATE_STATES } from "./candidate-states.ts";
import { FITNESS_DIR } from "./gate-key.ts";
import type { RepoGit } from "../git/repo-git.ts";

const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** A commit's report folder under `.org/fitness/`, with when it was last written and how many bytes it holds. */
export type ReportFolder = { commit: string; path: string; mtimeMs: number; bytes: number };

function folderBytes(path: string): number {
  let total = 0;
  for (const name of readdirSync(path)) total += lstatSync(join(path, name), { throwIfNoEntry: false })?.size ?? 0;
  return total;
}

/**
 * The report folders past the newest `keep` (by when last written) that no live candidate (untested, pass, stale)
 * needs: what the disk can do without. The baseline, the gate key and the signed records are never among them.
 */
export async function surplusReportFolders(git: RepoGit, keep: number, signal?: AbortSignal): Promise<ReportFolder[]> {
  const root = join(git.repoDir, FITNESS_DIR);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const folders: ReportFolder[] = [];
  for (const name of names) {
    const stat = lstatSync(join(root, name), { throwIfNoEntry: false });
    if (COMMIT.test(name) && stat?.isDirectory())
      folders.push({ commit: name, path: join(root, name), mtimeMs: stat.mtimeMs, bytes: folderBytes(join(root, name)) });
  }
  const live = new Set((await candidateStates(git, signal)).filter((row) => LIVE_CANDIDATE_STATES.includes(row.state)).map((row) => row.commit));
  return folders
    .sort((a, b) => b.mtimeMs - a.mtimeMs)
    .slice(keep)
    .filter((folder) => !live.has(folder.commit));
}

/** Removes report folders (as `surplusReportFolders` names them); the bytes freed. */
export function dropReportFolders(folders: readonly ReportFolder[]): number {
  for (const folder of folders) rmSync(folder.path, { recursive: true, force: true });
  return folders.reduce((sum, folder) => sum + folder.bytes, 0);
}
