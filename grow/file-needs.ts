import { GrowBusyError, takeGrowLock } from "./grow-lock.ts";
import { readGrowState, writeGrowState } from "./grow-state.ts";
import { mergeNeeds } from "./merge-needs.ts";
import type { Need } from "./room-needs.ts";

/** What filing needs did: each need's proposal (new or joined), or why nothing was filed. */
export type FiledNeeds = { ok: true; filed: { need: Need; proposal: string; created: boolean }[] } | { ok: false; why: string };

/**
 * Files needs that did not come from a room (a plan's missing steps) as grow proposals, under the grow lock: merged
 * into the workspace's proposals as a run merges what it noticed, so the same need asked again joins its proposal.
 * While a run holds the lock nothing is filed, and the answer says so.
 */
export async function fileNeeds(
  workspaceDir: string,
  needs: readonly Need[],
  options: { confirmSessions: number; command: string; now?: Date },
): Promise<FiledNeeds> {
  let lock: ReturnType<typeof takeGrowLock>;
  try {
    lock = takeGrowLock(workspaceDir, options.command);
  } catch (error) {
    if (error instanceof GrowBusyError) return { ok: false, why: error.message };
    throw error;
  }
  try {
    const state = readGrowState(workspaceDir);
    const outcome = await mergeNeeds(state.proposals, needs, { now: options.now ?? new Date(), confirmSessions: options.confirmSessions });
    writeGrowState(workspaceDir, { ...state, proposals: outcome.proposals });
    const filed = needs.flatMap((need) => {
      const proposal = outcome.proposals.find((entry) =>
        entry.evidence.some((evidence) => evidence.session === need.session && evidence.turn === need.turn),
      );
      return proposal ? [{ need, proposal: proposal.id, created: outcome.created.includes(proposal.id) }] : [];
    });
    return { ok: true, filed };
  } finally {
    lock.release();
  }
}
