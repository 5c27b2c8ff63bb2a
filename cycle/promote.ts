import { CandidateRefusedError, checkCandidateBranch } from "../git/candidate-branch.ts";
import { candidateStates } from "../fitness/candidate-states.ts";
import { NoPassingReportError } from "../fitness/fitness-report.ts";
import { promoteVerdict } from "./promote-verdict.ts";
import { PromotionRefusedError, type RefChangeContext } from "./ref-change.ts";
import type { Recovery } from "./rollback.ts";
import { isRefusal } from "../security/refusal.ts";
import { checkedPassingVerdict } from "./promotion-check.ts";
import { markOfferPromoted } from "../share/tool-origin.ts";

/** How a promotion of a judged candidate ended. */
export type PromoteOutcome =
  /** `baseline`: how the baseline took the promoted report's counts, in a line. */
  | { kind: "promoted"; branch: string; tag: string; merge: string; mainBefore: string; baseline?: string }
  | { kind: "already-on-main"; branch: string; commit: string }
  /** An interrupted promote or rollback was finished (or abandoned) instead; nothing else was done. */
  | { kind: "recovered"; branch: string; recovery: Recovery }
  /** Current was not healthy at the merge, so the promotion rolled itself back. */
  | { kind: "rolled-back"; branch: string; tag: string; rollbackTag: string; reason: string; newMain: string; baseline?: string };

/** Whether the candidate is on main afterwards as the caller asked (promote's exit status 0). */
export function promoteSucceeded(outcome: PromoteOutcome): boolean {
  return (
    outcome.kind === "promoted" || outcome.kind === "already-on-main" || (outcome.kind === "recovered" && outcome.recovery.outcome === "finished")
  );
}

/** What `org promote` prints of an outcome: what was done, then how the baseline moved. */
export function promoteLines(outcome: PromoteOutcome): string[] {
  switch (outcome.kind) {
    case "recovered": {
      const { recovery } = outcome;
      return [
        `${recovery.op} ${recovery.tag} was interrupted; ${recovery.outcome}: ${recovery.detail}. Nothing ` +
          `else was done; run promote again if needed.`,
      ];
    }
    case "already-on-main":
      return [`${outcome.branch} (${outcome.commit.slice(0, 12)}) is already on main; nothing to do`];
    case "rolled-back":
      return [
        `promotion ${outcome.tag} ROLLED BACK by ${outcome.rollbackTag}: current was not healthy ` +
          `(${outcome.reason}); main is back at ${outcome.newMain.slice(0, 12)}`,
        ...(outcome.baseline ? [outcome.baseline] : []),
      ];
    case "promoted":
      return [
        `promoted ${outcome.branch} as ${outcome.merge.slice(0, 12)} (tag ${outcome.tag}); main was ${outcome.mainBefore.slice(0, 12)}`,
        ...(outcome.baseline ? [outcome.baseline] : []),
      ];
  }
}

/** `branch` when it is a candidate branch's name; else a refusal that says which names are. */
export function checkPromotableName(branch: string): string {
  try {
    return checkCandidateBranch(branch);
  } catch (error) {
    if (error instanceof CandidateRefusedError) throw new PromotionRefusedError(`refused: ${error.message}`);
    throw error;
  }
}

/**
 * Promotes a judged candidate, as every front end asks for it (`org promote`, the web room's Promote, grow, the cycle
 * of `tool new --promote` and the demo): merges `branch` into main when this checkout's gate signed a passing report
 * for its head (`cycle/promote-verdict.ts` says the rest; the baseline takes that report's counts as main moves). The
 * context comes from `promotionContext` (`cycle/promotion-context.ts`). A refusal is a `PromotionRefusedError` whose
 * message names the branch; `rejudgeHint` adds the commands that judge it again when that is the way on.
 */
export async function promote(
  context: RefChangeContext,
  request: { branch: string; restart: boolean; rejudgeHint?: (branch: string) => string },
): Promise<PromoteOutcome> {
  const branch = checkPromotableName(request.branch);
  let outcome: Awaited<ReturnType<typeof promoteVerdict>>;
  try {
    outcome = await promoteVerdict(context, {
      branch,
      restart: request.restart,
      verdict: (commit) => checkedPassingVerdict(context.git, commit, context.signal),
    });
  } catch (error) {
    // Every refusal names the branch, not only a commit.
    if (isRefusal(error)) {
      const judgeAgain = (error instanceof PromotionRefusedError || error instanceof NoPassingReportError) && error.rejudge;
      const rejudge = judgeAgain && request.rejudgeHint ? `; judge it with ${request.rejudgeHint(branch)}` : "";
      throw new PromotionRefusedError(`refused to promote ${branch}: ${error.message}${rejudge}`);
    }
    throw error;
  }
  const { recovered, result, alreadyOnMain } = outcome;
  if (recovered) return { kind: "recovered", branch, recovery: recovered };
  if (alreadyOnMain) {
    const row = (await candidateStates(context.git, context.signal)).find((entry) => entry.branch === branch);
    if (row?.state === "rolled-back") {
      throw new PromotionRefusedError(
        `refused to promote ${branch}: it was promoted and rolled back${
          row.promotion ? ` ` + `(${row.promotion})` : ""
        }, so merging it again changes nothing; 'org candidate rebase ${branch}' makes a new candidate from ` +
          `today's main with its tool files, to judge and promote`,
      );
    }
    return { kind: "already-on-main", branch, commit: alreadyOnMain };
  }
  if (!result) throw new Error(`promote of ${branch} returned neither a result nor a reason`);
  if (result.rolledBack)
    return {
      kind: "rolled-back",
      branch,
      tag: result.tag,
      rollbackTag: result.rolledBack.tag,
      reason: result.rolledBack.reason,
      newMain: result.rolledBack.newMain,
      ...(result.rolledBack.baseline ? { baseline: result.rolledBack.baseline } : {}),
    };
  if (context.share) {
    // Best effort: main moved whatever the share state says; a state file that cannot be written is said, not fatal.
    await markOfferPromoted(context.share.home, context.git, branch, context.signal).catch((error: unknown) =>
      context.log(`could not mark the offer of ${branch} promoted in your org folder: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
  return {
    kind: "promoted",
    branch,
    tag: result.tag,
    merge: result.merge,
    mainBefore: result.mainBefore,
    ...(result.baseline ? { baseline: result.baseline } : {}),
  };
}
