import { RepoGit } from "../../git/repo-git.ts";
import type { MissingStep } from "../../planner/planned-workflow.ts";

/** A missing step whose name a live candidate branch's tool has: the plan can use it before anything is built. */
export type HeldByCandidate = { step: string; tool: string; branch: string };

/**
 * The missing steps named as a tool of a live candidate of `repoDir` (untested, passed or stale; the newest branch that
 * adds it), on no branch of `refs` already. The toolsmith refuses such a name as taken, so `--build` plans with the
 * candidate instead of building it again.
 */
export async function missingHeldByCandidates(
  missing: readonly MissingStep[],
  repoDir: string,
  refs: readonly string[],
  signal: AbortSignal,
): Promise<HeldByCandidate[]> {
  if (missing.length === 0 || !RepoGit.isCheckout(repoDir)) return [];
  const { liveCandidateToolNames } = await import("../../fitness/candidate-states.ts");
  const live = await liveCandidateToolNames(RepoGit.openCheckout(repoDir, "give --repo the org checkout whose tools the plan uses"), signal);
  return missing.flatMap((step) => {
    const branch = live.get(step.id);
    return branch === undefined || refs.includes(branch) ? [] : [{ step: step.id, tool: step.id, branch }];
  });
}

/** What the output says of a candidate's tool a plan uses. */
export const usedFromCandidate = (held: HeldByCandidate): string => `uses ${held.tool} from candidate ${held.branch}, not yet promoted`;
