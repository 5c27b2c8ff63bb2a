// One proposal through the cycle: the toolsmith builds a tool for its goal on a candidate branch of its own and the
// gate judges it against current (both `serve`s in this process), both under the run's deadline; with
// grow.autoPromote a pass is then promoted, so the next build is made from, and judged on, the main this one left.
// A promotion starts only before the deadline, and once started runs to its end (one ref transaction and current's
// restart), so a build the budget cuts is never half promoted. Without grow.autoPromote a pass waits for
// `org promote`. Every stage is a typed call returning values; nothing here reads printed text.
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { OrgConfig } from "../config/org-config.ts";
import { toolsmithPhaseRoutes } from "../personas/model-router.ts";
import type { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { type BuildProgress, buildAndPromote } from "../cycle/build-and-promote.ts";
import { inProcessInstances } from "../cycle/in-process-instances.ts";
import type { CycleOutcome, GateOptions } from "../cycle/promote-candidate.ts";
import { type PromoteOutcome, promote, promoteLines, promoteSucceeded } from "../cycle/promote.ts";
import type { RefChangeContext } from "../cycle/ref-change.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { isRefusal } from "../security/refusal.ts";
import type { ToolsmithOutcome } from "../toolsmith/run-toolsmith.ts";
import type { GrowBudget } from "./grow-budget.ts";
import type { BuildRecord } from "./grow-report.ts";

import { oneLine } from "../security/terminal-sanitizer.ts";
import type { Proposal } from "./proposal.ts";
import { safeGoal } from "./safe-goal.ts";

/** What every build of a run shares: the toolsmith, the gate and the instances run in `sandbox` under `sandboxPolicy`. */
export type BuildContext = SandboxAccess & {
  git: RepoGit;
  /** The room's config: the in-process instances' personas and tools. */
  config: OrgConfig;
  /** The toolsmith's thresholds and rounds for the build. */
  toolsmithSettings: ToolsmithSettings;
  model: LanguageModel;
  gate: () => GateOptions;
  /** How a pass is promoted; absent: grow.autoPromote is false, and a pass waits for `org promote`. */
  promotion?: { context: (log: (line: string) => void) => Omit<RefChangeContext, "signal">; restart: boolean };
  budget: GrowBudget;
  /**
   * Where the build's in-process instances keep their workspaces (`.org/grow/instances` of the grow workspace). The
   * grow lock keeps every other build out, so each build starts from an empty one and removes it when it ends; what a
   * killed run left, the next run removes (`resumeInterrupted`).
   */
  instancesDir: string;
  onProgress?: (progress: BuildProgress) => void;
};

/** Why a proposal whose goal moves credentials somewhere is not built. */
const REFUSED_GOAL = "its goal moves credentials or secrets somewhere; org builds no tool for that (reject it: org grow reject ID)";

/** How the cycle ended: what the toolsmith made, how the gate judged it, and the promotion grow made of a pass. */
type BuildOutcome = { built: ToolsmithOutcome; cycle?: CycleOutcome; promotion?: Promotion };

/** A pass's promotion: what `promote` did, a refusal (what it said), or none because the deadline came first. */
type Promotion = PromoteOutcome | { kind: "refused"; message: string } | { kind: "deadline" };

/**
 * Builds, judges and (with `promotion`) promotes one proposal, updating it in place: `promoted`, `built` (a pass
 * waiting for `org promote`) or `failed`, with the branch, report and why. The toolsmith and the gate run under
 * `deadline` (the budget's end; it throws when it fires); a promotion under `signal` (the run's own). Returns the
 * build's record.
 */
export async function buildProposal(proposal: Proposal, context: BuildContext, deadline: AbortSignal, signal: AbortSignal): Promise<BuildRecord> {
  const started = performance.now();
  const before = context.budget.spent();
  const instancesRoot = context.instancesDir;
  rmSync(instancesRoot, { recursive: true, force: true });
  mkdirSync(instancesRoot);
  // The sandbox's uid reads the instances' workspaces.
  chmodSync(instancesRoot, 0o755);
  const instances = inProcessInstances({
    config: context.config,
    toolRepo: context.git,
    instanceWorkspace: (role) => join(instancesRoot, role),
    sandbox: context.sandbox,
    sandboxPolicy: context.sandboxPolicy,
  });
  // Made safe again: a goal of an older state, or a rule's, carries no URL, host, outside path or secret either, and
  // one whose aim is moving credentials somewhere is not built at all.
  const goal = safeGoal(proposal.goal);
  let outcome: BuildOutcome;
  try {
    outcome =
      goal === ""
        ? { built: { ok: false, attempts: 0, failure: REFUSED_GOAL } }
        : await buildAndPromote({
            toolsmith: {
              goal,
              ...(proposal.failingInputs ? { failingInputs: proposal.failingInputs } : {}),
              model: context.budget.model(context.model),
              // A phase routed to another model is counted against the build's budget as the toolsmith's own is.
              routePhase: (phase, model) => {
                const routed = toolsmithPhaseRoutes(context.config)(phase, context.model);
                return routed === context.model ? model : context.budget.model(routed);
              },
              repoDir: context.git.repoDir,
              settings: context.toolsmithSettings,
              sandbox: context.sandbox,
              sandboxPolicy: context.sandboxPolicy,
            },
            instances,
            gate: context.gate,
            ...(context.onProgress ? { onProgress: context.onProgress } : {}),
            signal: deadline,
          });
  } finally {
    await instances.close();
    rmSync(instancesRoot, { recursive: true, force: true });
  }
  if (outcome.cycle?.ok && context.promotion)
    outcome.promotion = deadline.aborted ? { kind: "deadline" } : await promotePass(outcome.cycle.branch, context, signal);
  const after = context.budget.spent();
  proposal.attempts += 1;
  proposal.updatedAt = new Date().toISOString();
  const record: BuildRecord = {
    proposal: proposal.id,
    goal: proposal.goal,
    kind: proposal.kind,
    ok: false,
    state: "failed",
    durationMs: Math.round(performance.now() - started),
    modelMs: after.modelMs - before.modelMs,
    tokens: after.tokens - before.tokens,
  };
  return settle(proposal, record, outcome);
}

/** Promotes a judged pass (as `org promote` does), saying it as the cycle's promote stage. */
async function promotePass(branch: string, context: BuildContext, signal: AbortSignal): Promise<Promotion> {
  const promotion = context.promotion;
  if (!promotion) throw new Error("a promotion was asked for without grow.autoPromote's context");
  const tell = (progress: BuildProgress) => context.onProgress?.(progress);
  tell({ type: "stage-start", stage: "promote", branch });
  const started = performance.now();
  const log = (line: string) => tell({ type: "note", stage: "promote", line });
  const done = (ok: boolean, detail: string) =>
    tell({ type: "stage-done", result: { stage: "promote", ok, exitCode: ok ? 0 : 1, detail, durationMs: Math.round(performance.now() - started) } });
  let promoted: PromoteOutcome;
  try {
    promoted = await promote({ ...promotion.context(log), signal }, { branch, restart: promotion.restart });
  } catch (error) {
    // A refusal (the gate's report, the branch moved, a promotion under way) is the stage's answer; anything else a bug.
    if (!isRefusal(error)) throw error;
    done(false, error.message);
    return { kind: "refused", message: error.message };
  }
  tell({ type: "promoted", outcome: promoted });
  done(promoteSucceeded(promoted), promoteLines(promoted)[0] ?? promoted.kind);
  return promoted;
}

/** The proposal's state after its cycle (`promoted`, `built` waiting for `org promote`, or `failed`), and the build's record. */
function settle(proposal: Proposal, record: BuildRecord, outcome: BuildOutcome): BuildRecord {
  const { built, cycle } = outcome;
  if (!built.ok) {
    proposal.state = "failed";
    proposal.failure = oneLine(`the toolsmith made no tool: ${built.failure}`, 1000);
    return { ...record, stoppedAt: "build", failure: proposal.failure, ...(built.name ? { tool: built.name } : {}) };
  }
  Object.assign(record, { tool: built.name, branch: built.branch, commit: built.commit });
  proposal.branch = built.branch;
  proposal.commit = built.commit;
  if (cycle?.verdict) record.verdict = cycle.verdict;
  if (cycle?.reportPath) {
    record.reportPath = cycle.reportPath;
    proposal.reportPath = cycle.reportPath;
  }
  if (!cycle?.ok) {
    proposal.state = "failed";
    proposal.failure = oneLine(`${built.branch} stopped at ${cycle?.stoppedAt ?? "?"}: ${cycle?.failure ?? "no cycle ran"}`, 1000);
    return { ...record, ...(cycle?.stoppedAt ? { stoppedAt: cycle.stoppedAt } : {}), failure: proposal.failure };
  }
  delete proposal.failure;
  proposal.tool = built.name;
  const promotion = outcome.promotion;
  if (promotion?.kind === "deadline") {
    proposal.state = "built";
    return {
      ...record,
      ok: true,
      state: "built",
      waiting: `waiting for org promote ${built.branch} (the time budget ran out once it had passed the gate)`,
    };
  }
  const refusal = promotion?.kind === "refused" ? promotion.message : promotion?.kind === "rolled-back" ? promoteLines(promotion)[0] : undefined;
  if (refusal !== undefined) {
    proposal.state = "failed";
    proposal.failure = oneLine(`${built.branch} passed the gate but was not promoted: ${refusal}`, 1000);
    return { ...record, stoppedAt: "promote", failure: proposal.failure };
  }
  if (promotion?.kind === "promoted") {
    proposal.state = "promoted";
    proposal.promotion = promotion.tag;
    return { ...record, ok: true, state: "promoted", promotion: { tag: promotion.tag, merge: promotion.merge, mainBefore: promotion.mainBefore } };
  }
  if (promotion?.kind === "already-on-main") {
    proposal.state = "promoted";
    return { ...record, ok: true, state: "promoted" };
  }
  if (promotion?.kind === "recovered") {
    // An interrupted promote or rollback was finished instead: this pass is not on main yet.
    proposal.state = "built";
    return {
      ...record,
      ok: true,
      state: "built",
      waiting: `waiting for org promote ${built.branch} (an interrupted ${promotion.recovery.op} was finished first)`,
    };
  }
  proposal.state = "built";
  return { ...record, ok: true, state: "built", waiting: `waiting for org promote ${built.branch} (grow.autoPromote is false)` };
}
