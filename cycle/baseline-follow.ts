import { changesOutsideTools, toolNamesAt, toolsChanged } from "../git/tool-tree.ts";
import {
  baselineLine,
  type FitnessBaseline,
  followPromotion,
  followRollback,
  readBaseline,
  TOOL_SCENARIO_PREFIX,
} from "../fitness/fitness-baseline.ts";
import type { JournalEntry } from "./promotion-journal.ts";
import type { RepoGit } from "../git/repo-git.ts";

function signedBaseline(repoDir: string): FitnessBaseline | undefined {
  try {
    return readBaseline(repoDir);
  } catch {
    return undefined;
  }
}

/**
 * Makes the baseline follow main once a journaled promote or rollback has moved it (every path that moves main goes
 * through `applyRefChange`, which calls this between the ref transaction and the checkout): a promotion adds the
 * counts of the report it merged (`entry.passes`), a rollback withdraws what the promotion it undid brought
 * (`followRollback`). Safe to run again after a kill: both come out the same. Returns the line that says how the
 * baseline moved, or undefined when there was nothing to follow (no counts, or no baseline to withdraw from).
 */
export async function followBaseline(git: RepoGit, entry: JournalEntry, signal?: AbortSignal): Promise<string | undefined> {
  const before = signedBaseline(git.repoDir);
  if (entry.op === "promote") {
    if (!entry.passes) return undefined;
    const branch = entry.verify?.ref.replace(/^refs\/heads\//, "");
    const after = followPromotion(git.repoDir, { tag: entry.tag, ...(branch ? { branch } : {}), merge: entry.newMain, passes: entry.passes });
    return baselineLine(before, after);
  }
  if (!entry.undoes || !before) return undefined;
  const promotion = await git.resolveCommit(`refs/tags/${entry.undoes}`);
  const parent = promotion ? await git.resolveCommit(`${promotion}^1`) : undefined;
  // Without the promotion's commit, every tool's count counts as one it could have changed.
  const undoneTools =
    promotion && parent
      ? await toolsChanged(git, parent, promotion, signal)
      : Object.keys(before.scenarios).flatMap((name) => (name.startsWith(TOOL_SCENARIO_PREFIX) ? [name.slice(TOOL_SCENARIO_PREFIX.length)] : []));
  const changedCode = promotion && parent ? await changesOutsideTools(git, parent, promotion, signal) : true;
  const toolsOnMain = await toolNamesAt(git, entry.newMain, signal);
  const after = followRollback(git.repoDir, { tag: entry.tag, undoes: entry.undoes, undoneTools, changedCode, newMain: entry.newMain, toolsOnMain });
  return baselineLine(before, after);
}
