import { GENERATED_TOOLS_DIR, isWorkflowFilePath } from "../config/workspace-paths.ts";
import { mergeTreeOnBase } from "../git/checkout-files.ts";
import { undonePromotions } from "../git/undone-promotions.ts";
import { toolFolderTree, toolsChanged, treeWithToolFolders } from "../git/tool-tree.ts";
import { publishRecall } from "../share/publish-offer.ts";
import { treeWithWorkflowsOf, workflowBlobAt, workflowsChanged } from "../git/workflow-tree.ts";
import { type JournalEntry, PromotionBlockedError } from "./promotion-journal.ts";
import type { RollbackTarget } from "./rollback-target.ts";
import { checkCheckoutReady } from "./checkout.ts";
import { applyRefChange, freeTagName, PromotionRefusedError, type RefChangeContext } from "./ref-change.ts";

/** What a rollback (or the rollback a failed promotion does of itself) ended with. */
export type RollbackResult = {
  tag: string;
  undoes: string;
  mainBefore: string;
  newMain: string;
  healthy: boolean | undefined;
  /** How the baseline followed main: what the undone promotion had set, withdrawn (undefined: no baseline). */
  baseline?: string;
};

/** Every `promote/` tag, newest first, with the commit it names. */
async function promotionTags(context: RefChangeContext): Promise<{ tag: string; commit: string }[]> {
  return (await context.git.promotionTags("promote", context.signal)).reverse().map(({ name, commit }) => ({ tag: name, commit }));
}

/**
 * Builds the revert of a promotion merge (`git revert -m 1`: main's tree minus what the merge brought in)
 * without touching any worktree: when main is still the merge, the tree is its first parent's; otherwise main's
 * tree with the promotion's tool folders put back (`revertedTree`).
 */
async function revertCommit(context: RefChangeContext, main: string, promotion: { tag: string; commit: string }): Promise<string> {
  const { git, signal } = context;
  const firstParent = await git.resolveCommit(`${promotion.commit}^1`);
  if (!firstParent || !(await git.resolveCommit(`${promotion.commit}^2`))) {
    throw new PromotionRefusedError(`${promotion.tag} does not name a merge commit; it cannot be rolled back as a promotion`);
  }
  const tree = main === promotion.commit ? await git.resolveTree(firstParent) : await revertedTree(context, main, promotion, firstParent);
  if (!tree) throw new PromotionRefusedError(`${promotion.tag}'s first parent ${firstParent.slice(0, 12)} has no tree; revert it by hand`);
  const message = [
    `revert: roll back ${promotion.tag}`,
    "",
    `This reverts merge ${promotion.commit} (git revert -m 1 semantics): main's files return to`,
    `${firstParent} as far as that promotion changed them.`,
    "",
    `Rolls-Back: ${promotion.tag}`,
  ].join("\n");
  return await git.commitTree(tree, { parents: [main], message, signal });
}

/**
 * main's tree with a promotion undone when later commits exist: every `tools/generated/<tool>/` folder the
 * promotion changed goes back to its first parent's state (removed when it had none), provided nothing since
 * changed those folders. Promoted tools are disjoint folders, so no three-way merge (and no
 * `merge-tree --merge-base`, which git 2.39 lacks) is needed. A promotion that changed files elsewhere (let
 * through with --allow-core) falls back to a three-way `merge-tree` where git has it.
 */
async function revertedTree(
  context: RefChangeContext,
  main: string,
  promotion: { tag: string; commit: string },
  firstParent: string,
): Promise<string> {
  const { git, signal } = context;
  const changed = (await git.changes(firstParent, promotion.commit, { signal })).map((change) => change.path);
  const tools = await toolsChanged(git, firstParent, promotion.commit, signal);
  const workflows = await workflowsChanged(git, firstParent, promotion.commit, signal);
  const outside = changed.filter((path) => !tools.some((tool) => path.startsWith(`${GENERATED_TOOLS_DIR}/${tool}/`)) && !isWorkflowFilePath(path));
  if (outside.length > 0) {
    const merged = await mergeTreeOnBase(git, main, firstParent, promotion.commit, signal);
    if ("failed" in merged) {
      throw new PromotionRefusedError(
        `${promotion.tag} changed files outside tools/generated/ (${outside.slice(0, 5).join(", ")}), main ` +
          `moved past it, and this git cannot build the revert without a worktree ` +
          `(${merged.failed}); revert ` +
          `${promotion.commit.slice(0, 12)} by hand with 'git revert -m 1'`,
      );
    }
    if ("conflicts" in merged) throw new PromotionRefusedError(`reverting ${promotion.tag} conflicts with what main got since; revert it by hand`);
    return merged.tree;
  }
  const folders = new Map<string, string | undefined>();
  const touchedSince: string[] = [];
  for (const tool of tools) {
    if ((await toolFolderTree(git, main, tool, signal)) !== (await toolFolderTree(git, promotion.commit, tool, signal))) touchedSince.push(tool);
    folders.set(tool, await toolFolderTree(git, firstParent, tool, signal));
  }
  for (const name of workflows) {
    if ((await workflowBlobAt(git, main, name, signal)) !== (await workflowBlobAt(git, promotion.commit, name, signal)))
      touchedSince.push(`workflows/${name}`);
  }
  if (touchedSince.length > 0) {
    throw new PromotionRefusedError(
      `${promotion.tag} cannot be rolled back alone: later commits on main changed ${touchedSince.join(", ")} too; roll those back first`,
    );
  }
  return treeWithWorkflowsOf(git, await treeWithToolFolders(git, main, folders, signal), firstParent, workflows, signal);
}

/** The newest promotion still in place that added or changed `tool`, or undefined. */
async function promotionOfTool(
  context: RefChangeContext,
  tool: string,
  inPlace: { tag: string; commit: string }[],
): Promise<{ tag: string; commit: string } | undefined> {
  for (const promotion of inPlace) {
    const parent = await context.git.resolveCommit(`${promotion.commit}^1`);
    if (parent && (await toolsChanged(context.git, parent, promotion.commit, context.signal)).includes(tool)) return promotion;
  }
  return undefined;
}

/**
 * Plans the rollback of `promotionTag`, or of the newest promotion not rolled back yet that main contains:
 * builds the revert commit and returns the journal entry that moves main to it and tags `rollback/<ts>`.
 */
export async function planRollback(
  context: RefChangeContext,
  options: { promotionTag?: string; tool?: string; restart: boolean },
): Promise<JournalEntry> {
  const { git, signal } = context;
  const main = await checkCheckoutReady(git, signal);
  const undone = await undonePromotions(context.git, context.signal);
  const tags = await promotionTags(context);
  const inPlace: { tag: string; commit: string }[] = [];
  for (const candidate of tags) {
    if (undone.has(candidate.tag)) continue;
    if ((await git.mergeBase(candidate.commit, main, signal)) === candidate.commit) inPlace.push(candidate);
  }
  let promotion: { tag: string; commit: string } | undefined;
  if (options.tool !== undefined) promotion = await promotionOfTool(context, options.tool, inPlace);
  else if (options.promotionTag !== undefined) promotion = inPlace.find((candidate) => candidate.tag === options.promotionTag);
  else promotion = inPlace[0];
  if (!promotion) {
    throw new PromotionRefusedError(
      options.tool !== undefined
        ? `no promotion still in place on main added or changed the tool ${options.tool}`
        : options.promotionTag
          ? `${options.promotionTag} is not a promotion on main that is still in place`
          : "there is no promotion to roll back: main contains no promote/ tag that was not rolled back already",
    );
  }
  const newMain = await revertCommit(context, main, promotion);
  const tag = await freeTagName(git, "rollback", (context.now ?? (() => new Date()))());
  return {
    op: "rollback",
    step: "planned",
    mainBefore: main,
    newMain,
    tag,
    undoes: promotion.tag,
    restart: options.restart,
    startedAt: new Date().toISOString(),
  };
}

/** Runs a planned rollback to the end and clears the journal. */
export async function runRollback(context: RefChangeContext, entry: JournalEntry): Promise<RollbackResult> {
  context.journal.write(entry);
  const outcome = await applyRefChange(context, entry);
  if (outcome.kind === "abandoned") throw new PromotionRefusedError(`rollback abandoned: ${outcome.reason}`);
  context.journal.clear();
  return {
    tag: entry.tag,
    undoes: entry.undoes ?? "",
    mainBefore: entry.mainBefore,
    newMain: entry.newMain,
    healthy: outcome.health?.ok,
    ...(outcome.baseline ? { baseline: outcome.baseline } : {}),
  };
}

/** What finishing an interrupted run did, for the user. */
export type Recovery = { op: JournalEntry["op"]; tag: string; outcome: "finished" | "abandoned" | "rolled back"; detail: string };

/**
 * Finishes the change a killed promote or rollback left in the journal: moves main if it had not moved, syncs
 * the checkout, restarts current; a promotion whose current is unhealthy is rolled back. Undefined when there
 * was nothing to finish. The caller holds the lock.
 */
export async function finishInterrupted(context: RefChangeContext): Promise<Recovery | undefined> {
  const entry = context.journal.read();
  if (!entry) return undefined;
  context.log(`finishing an interrupted ${entry.op} (${entry.tag}, step ${entry.step})`);
  const outcome = await applyRefChange(context, entry);
  if (outcome.kind === "abandoned") return { op: entry.op, tag: entry.tag, outcome: "abandoned", detail: outcome.reason };
  if (entry.op === "promote" && outcome.health && !outcome.health.ok) {
    const rollback = await runRollback(context, await planRollback(context, { promotionTag: entry.tag, restart: entry.restart }));
    return { op: entry.op, tag: entry.tag, outcome: "rolled back", detail: `current was unhealthy; rolled back by ${rollback.tag}` };
  }
  context.journal.clear();
  return {
    op: entry.op,
    tag: entry.tag,
    outcome: "finished",
    detail: `main is at ${entry.newMain.slice(0, 12)}${outcome.baseline ? `; ${outcome.baseline}` : ""}`,
  };
}

/**
 * Finishes the promote or rollback a dead run left in the journal, as the next one would, and nothing else (the
 * supervisor's `finish-interrupted`): `blocked` when a live run holds the lock or the lock cannot be taken.
 */
export async function recoverInterrupted(
  context: RefChangeContext,
): Promise<{ kind: "blocked"; reason: string } | { kind: "done"; recovered: Recovery | undefined }> {
  try {
    context.journal.lock();
  } catch (error) {
    if (error instanceof PromotionBlockedError) return { kind: "blocked", reason: error.message };
    throw error;
  }
  try {
    return { kind: "done", recovered: await finishInterrupted(context) };
  } finally {
    context.journal.unlock();
  }
}

/** A recall a rollback published for a tool the person had offered to the team (its ref), or why it could not. */
export type RollbackRecall = { tool: string; ref?: string; problem?: string };

/**
 * After `result`: each tool it took away that the person of `context.share` had offered is recalled on the team's
 * remote (a signed `refs/org/recalls/<tool>/<offer id>`, `share/publish-offer.ts`), each said in the log. A recall that
 * cannot be pushed is said and returned with its problem; the rollback stands.
 */
async function recallRolledBack(context: RefChangeContext, result: RollbackResult, reason: string | undefined): Promise<RollbackRecall[]> {
  const { share } = context;
  if (!share) return [];
  const recalls: RollbackRecall[] = [];
  for (const tool of await toolsChanged(context.git, result.newMain, result.mainBefore, context.signal)) {
    try {
      const ref = await publishRecall(share, tool, reason ?? `rolled back by its publisher (${result.tag})`);
      if (ref) recalls.push({ tool, ref });
    } catch (error) {
      recalls.push({ tool, problem: error instanceof Error ? error.message : String(error) });
    }
  }
  for (const recall of recalls)
    context.log(
      recall.ref
        ? `recalled ${recall.tool} from the team: ${recall.ref} (signed)`
        : `could NOT recall ${recall.tool} from the team: ${recall.problem}`,
    );
  return recalls;
}

/**
 * Rolls back a promotion, as every front end asks for one (`org rollback`, the web room's Roll back, grow's health
 * actions, the supervisor): finishes an interrupted promote or rollback if there is one (then nothing else), else
 * reverts the newest promotion still in place, or the one `target` names by its `promote/` tag, or the newest one in
 * place that brought a tool (even with later promotions on top, as long as they did not change its folders). The
 * context comes from `promotionContext` (`cycle/promotion-context.ts`). When the person set a share remote and had
 * offered a tool the rollback takes away, a signed recall of their offer is pushed (`recalls`; `reason` says why).
 */
export async function rollback(
  context: RefChangeContext,
  options: { restart: boolean; target: RollbackTarget; reason?: string },
): Promise<{ recovered?: Recovery; result?: RollbackResult; recalls: RollbackRecall[] }> {
  const { target, restart } = options;
  const which = "promotionTag" in target ? { promotionTag: target.promotionTag } : "tool" in target ? { tool: target.tool } : {};
  let result: RollbackResult;
  context.journal.lock();
  try {
    const recovered = await finishInterrupted(context);
    if (recovered) return { recovered, recalls: [] };
    result = await runRollback(context, await planRollback(context, { restart, ...which }));
  } finally {
    context.journal.unlock();
  }
  return { result, recalls: await recallRolledBack(context, result, options.reason) };
}
