import { checkCandidateBranch } from "../git/candidate-branch.ts";
import type { JournalEntry } from "./promotion-journal.ts";
import { checkCheckoutReady } from "./checkout.ts";
import { applyRefChange, freeTagName, PromotionRefusedError, type RefChangeContext } from "./ref-change.ts";
import { finishInterrupted, planRollback, type Recovery, type RollbackResult, runRollback } from "./rollback.ts";

/** The fitness verdict a promotion needs: a pass for exactly this candidate commit, judged against this main. */
export type PassingVerdict = {
  commit: string;
  mainCommit: string;
  summary: string;
  judgedTree?: string;
  /** The scenario counts the report gave: the baseline takes them once main has moved (`followBaseline`). */
  scenarioPasses?: Record<string, number>;
};

export type PromoteResult = {
  tag: string;
  merge: string;
  mainBefore: string;
  /** Set when current came back unhealthy and the promotion rolled itself back. */
  rolledBack?: RollbackResult & { reason: string };
  healthy: boolean | undefined;
  /** How the baseline took the promotion's counts (undefined: the report had none). */
  baseline?: string;
};

/**
 * The promotion merge, with the verdict handed in (`promote` of `cycle/promote.ts` hands in the signed report's):
 * merges candidate `branch` into main (`--no-ff`: a merge commit with main and the candidate as parents, built with
 * `merge-tree`/`commit-tree` without touching any worktree), only when the branch head is the exact commit `verdict`
 * passed (the caller re-checks that commit itself there) and main has not moved since; moves main and tags
 * `promote/<ts>` in one ref transaction, brings the checkout up to main, restarts current and rolls itself back when
 * current is not healthy. An interrupted earlier run is finished first, and then nothing else is done; a branch main
 * already contains is left alone (`alreadyOnMain`).
 */
export async function promoteVerdict(
  context: RefChangeContext,
  request: { branch: string; verdict: (commit: string) => PassingVerdict | Promise<PassingVerdict>; restart: boolean },
): Promise<{ recovered?: Recovery; result?: PromoteResult; alreadyOnMain?: string }> {
  const branch = checkCandidateBranch(request.branch);
  context.journal.lock();
  try {
    const recovered = await finishInterrupted(context);
    if (recovered) return { recovered };
    const head = await context.git.resolveCommit(`refs/heads/${branch}`);
    if (!head) throw new PromotionRefusedError(`there is no branch ${branch}`);
    if ((await context.git.mergeBase(head, "refs/heads/main", context.signal)) === head) return { alreadyOnMain: head };
    const entry = await planPromotion(context, branch, head, request);
    context.journal.write(entry);
    const outcome = await applyRefChange(context, entry);
    if (outcome.kind === "abandoned") throw new PromotionRefusedError(`promotion abandoned: ${outcome.reason}`);
    const result: PromoteResult = {
      tag: entry.tag,
      merge: entry.newMain,
      mainBefore: entry.mainBefore,
      healthy: outcome.health?.ok,
      ...(outcome.baseline ? { baseline: outcome.baseline } : {}),
    };
    if (outcome.health && !outcome.health.ok) {
      const rollback = await runRollback(context, await planRollback(context, { promotionTag: entry.tag, restart: entry.restart }));
      result.rolledBack = { ...rollback, reason: outcome.health.detail };
    } else {
      context.journal.clear();
    }
    return { result };
  } finally {
    context.journal.unlock();
  }
}

async function planPromotion(
  context: RefChangeContext,
  branch: string,
  head: string,
  request: { verdict: (commit: string) => PassingVerdict | Promise<PassingVerdict>; restart: boolean },
): Promise<JournalEntry> {
  const { git, signal } = context;
  // The verdict (and whatever the caller checks on the head itself) is for exactly `head`; the ref transaction verifies the branch still names it.
  const verdict = await request.verdict(head);
  if (verdict.commit !== head) {
    throw new PromotionRefusedError(
      `the fitness report is for ${verdict.commit.slice(0, 12)}, but ${branch} is at ${head.slice(0, 12)}: run the fitness gate on this commit`,
      { rejudge: true },
    );
  }
  const main = await checkCheckoutReady(git, signal);
  if (verdict.mainCommit !== main) {
    throw new PromotionRefusedError(
      `main moved since the fitness report (judged against ${verdict.mainCommit.slice(0, 12)}, main is now ` +
        `${main.slice(0, 12)}): run the fitness gate again`,
      { rejudge: true },
    );
  }
  const merged = await git.mergeTree(main, head, { signal });
  if ("conflicts" in merged)
    throw new PromotionRefusedError(`${branch} does not merge cleanly into main (${merged.conflicts.slice(0, 3).join("; ")})`);
  const { tree } = merged;
  if (verdict.judgedTree && verdict.judgedTree !== tree) {
    throw new PromotionRefusedError(
      `merging ${branch} into main gives other files than the gate judged (tree ${tree.slice(0, 12)}, judged ` +
        `${verdict.judgedTree.slice(0, 12)}): run the fitness gate again`,
      { rejudge: true },
    );
  }
  const message = [`merge: promote ${branch}`, "", verdict.summary.replace(/\r/g, ""), "", `Candidate: ${head}`].join("\n");
  const merge = await git.commitTree(tree, { parents: [main, head], message, signal });
  const tag = await freeTagName(git, "promote", (context.now ?? (() => new Date()))());
  return {
    op: "promote",
    step: "planned",
    mainBefore: main,
    newMain: merge,
    tag,
    verify: { ref: `refs/heads/${branch}`, commit: head },
    ...(verdict.scenarioPasses ? { passes: verdict.scenarioPasses } : {}),
    restart: request.restart,
    startedAt: new Date().toISOString(),
  };
}
