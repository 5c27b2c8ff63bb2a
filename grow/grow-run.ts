import { rmSync } from "node:fs";
import { join } from "node:path";
import { GROW_DIR } from "../config/workspace-paths.ts";
import { discardCandidate } from "../git/discard-candidate.ts";
import { type CandidateRow, candidateStates } from "../fitness/candidate-states.ts";
import { promotionContext } from "../cycle/promotion-context.ts";
import { RepoGit } from "../git/repo-git.ts";
import { type NeedHint, writeNeedHints } from "../registry/need-hints.ts";
import { GrowBudget } from "./grow-budget.ts";
import { type GrowReport, reportId, UNHEARD_NAMED, writeGrowReport } from "./grow-report.ts";
import type { GrowRequest } from "./grow-request.ts";
import { type GrowState, readGrowState, writeGrowState } from "./grow-state.ts";
import { actOnHealth } from "./health-actions.ts";
import { noticeStep } from "./notice-step.ts";
import type { Proposal, ProposalState } from "./proposal.ts";
import { reportedProposal } from "./proposal-why.ts";
import type { MeaningJudge } from "./same-meaning.ts";

/** A run under way: its state, report and budget, kept on disk after each step (a dry run: its state alone). */
export class GrowRun {
  readonly clock: () => Date;
  readonly budget: GrowBudget;
  readonly report: GrowReport;
  readonly git: RepoGit;
  state: GrowState;
  path: string | undefined;
  /** How the run judges meaning (set by noticing): the goals' vectors and the model's questions. */
  meaning: MeaningJudge = {};
  /** `.org/grow/instances` of the workspace: the workspaces of a build's in-process instances, one build at a time. */
  readonly instancesDir: string;

  constructor(readonly request: GrowRequest) {
    this.clock = request.now ?? (() => new Date());
    this.budget = new GrowBudget(request.limits);
    this.git = new RepoGit(request.repoDir);
    this.instancesDir = join(request.workspaceDir, GROW_DIR, "instances");
    this.state = readGrowState(request.workspaceDir);
    const startedAt = this.clock();
    this.report = {
      version: 1,
      id: reportId(startedAt),
      pid: process.pid,
      state: "running",
      startedAt: startedAt.toISOString(),
      dryRun: request.dryRun,
      workspace: request.workspaceDir,
      repo: request.repoDir,
      autoPromote: request.settings.autoPromote,
      summary: {
        noticed: 0,
        merged: 0,
        created: 0,
        covered: 0,
        built: 0,
        judged: 0,
        promoted: 0,
        rolledBack: 0,
        removed: 0,
        proposedForRemoval: 0,
        failed: 0,
      },
      budget: this.budget.spent(),
      proposals: [],
      builds: [],
      removals: [],
      notes: [],
    };
  }

  /** A line for whoever watches the run. */
  say(text: string): void {
    this.request.onProgress?.({ type: "line", text });
  }

  /** Keeps the proposals and the cursor. */
  save(): void {
    writeGrowState(this.request.workspaceDir, this.state);
  }

  /** Rewrites the run's report with the budget spent so far (a dry run writes none). */
  keepReport(): void {
    this.report.budget = this.budget.spent();
    if (!this.request.dryRun) this.path = writeGrowReport(this.request.workspaceDir, this.report);
  }

  /** How a pass is promoted, and rollbacks made: the repository's journal, and current when it is restarted. */
  get promotion() {
    const { current } = this.request;
    return {
      context: (log: (line: string) => void) => promotionContext({ repo: this.git, log, ...(current ? { current } : {}) }),
      restart: current !== undefined,
    };
  }

  /**
   * Under the lock no other run builds, so a proposal still `building` is a dead run's. Looked for on every run, not
   * only when the dead run's lock is taken over: `org grow reject` may have taken that lock over and let it go since,
   * or a person removed it. The instances' workspaces a dead run's build left go too.
   */
  async resumeInterrupted(): Promise<void> {
    rmSync(this.instancesDir, { recursive: true, force: true });
    await this.settleUnfinished(
      this.state.proposals.filter((proposal) => proposal.state === "building"),
      "a run that ended without finishing",
      this.request.signal,
    );
  }

  /**
   * Builds that ended without their cycle's outcome (a run killed, a build cut by the budget or broken): a build whose
   * candidate was made may have been judged and promoted first, and that candidate says so. `promoted` (with its tag),
   * `built` (passed, waiting for org promote), else `pending` again, its candidate removed: half-made, it must not stay
   * to hold its tool's name. Each said in the report's notes after `who`. Returns the states they were given.
   */
  async settleUnfinished(unfinished: Proposal[], who: string, signal?: AbortSignal): Promise<ProposalState[]> {
    if (unfinished.length === 0) return [];
    const rows = unfinished.some((proposal) => proposal.branch)
      ? new Map((await candidateStates(this.git, signal)).map((row) => [row.branch, row]))
      : new Map<string, CandidateRow>();
    const pending: string[] = [];
    for (const proposal of unfinished) {
      const row = proposal.branch === undefined ? undefined : rows.get(proposal.branch);
      const [tool] = row?.tools.length === 1 ? row.tools : [];
      if (row?.state === "promoted") {
        proposal.state = "promoted";
        if (tool) proposal.tool = tool;
        if (row.promotion) proposal.promotion = row.promotion;
        this.report.notes.push(`${who} promoted ${row.branch} for ${proposal.id} (${row.promotion ?? "on main"})`);
      } else if (row?.state === "pass") {
        proposal.state = "built";
        if (tool) proposal.tool = tool;
        this.report.notes.push(`${who} built ${row.branch} for ${proposal.id}; it passed the gate and waits: org promote ${row.branch}`);
      } else {
        proposal.state = "pending";
        pending.push(proposal.id);
        if (row && row.commit === proposal.commit && (await discardCandidate(this.git, row.branch, row.commit, signal)))
          this.report.notes.push(`${who} left ${row.branch} for ${proposal.id} unjudged: it was removed`);
        delete proposal.branch;
        delete proposal.commit;
      }
      proposal.updatedAt = this.clock().toISOString();
    }
    if (pending.length > 0) this.report.notes.push(`${who} had ${pending.join(", ")} building: pending again`);
    return unfinished.map((proposal) => proposal.state);
  }

  /** Noticing, hearing, merging and the cover check; the proposals and the cursor kept together. */
  async notice(): Promise<void> {
    const { workspaceDir, repoDir, signal, embedder, listener } = this.request;
    const step = await noticeStep({
      workspaceDir,
      repoDir,
      git: this.git,
      state: this.state,
      ...(listener ? { listener: this.budget.model(listener) } : {}),
      ...(embedder ? { embedder } : {}),
      ...(this.request.shareHome ? { shareHome: this.request.shareHome } : {}),
      confirmSessions: this.request.settings.confirmSessions,
      now: this.clock(),
      deadline: this.budget.deadline(signal),
      signal,
      notes: this.report.notes,
    });
    const { noticed, merged } = step;
    // Turns the budget ended before the model heard: the budget stopped the noticing (they wait for the next run).
    if (step.noticing.waiting) this.budget.cut();
    const { unheard, ...read } = noticed.read;
    this.report.read = {
      ...read,
      more: noticed.more,
      ...(unheard.length > 0
        ? {
            unheard: {
              files: unheard.length,
              lines: unheard.reduce((sum, file) => sum + file.lines, 0),
              named: unheard.slice(0, UNHEARD_NAMED).map((file) => file.file),
            },
          }
        : {}),
    };
    this.report.noticing = step.noticing;
    Object.assign(this.report.summary, {
      noticed: step.needs,
      created: merged.created.length,
      merged: step.needs - merged.created.length,
      covered: step.covered.length,
    });
    this.say(
      `noticed ${step.needs} need(s) in ${noticed.read.sessions} session(s), ${noticed.read.auditDays} audit ` +
        `day(s), ${noticed.read.jobs} job(s): ${merged.created.length} new proposal(s)`,
    );
    this.state = step.state;
    this.meaning = step.meaning;
    this.save();
    writeNeedHints(workspaceDir, coveredHints(this.state.proposals));
    const created = new Set(merged.created);
    // What the run changed: the proposals it noticed, and those covered since (by a tool here or a teammate's offer).
    const changed = new Set([...merged.touched, ...step.covered]);
    this.report.proposals = this.state.proposals
      .filter((proposal) => changed.has(proposal.id))
      .map((proposal) => reportedProposal(proposal, created.has(proposal.id)));
    this.keepReport();
  }

  /** The promoted tools' health: one rollback at most, removals proposed (or made under grow.autoPromote). */
  async actOnHealth(): Promise<void> {
    const health = await actOnHealth({
      repoDir: this.request.repoDir,
      git: this.git,
      signal: this.request.signal,
      settings: this.request.settings,
      proposals: this.state.proposals,
      refChange: () => ({ ...this.promotion.context((line) => this.say(line)), signal: this.request.signal }),
      dryRun: this.request.dryRun,
      autoPromote: this.request.settings.autoPromote,
      now: this.clock(),
    });
    this.state = { ...this.state, proposals: health.proposals };
    if (health.rollback) {
      this.report.rollback = health.rollback;
      if (health.rollback.ok) this.report.summary.rolledBack = 1;
    }
    this.report.removals = health.removals;
    this.report.summary.removed = health.removals.filter((removal) => removal.removed).length;
    this.report.summary.proposedForRemoval = health.removals.filter((removal) => !removal.removed).length;
    // A rebuild of a rolled-back tool, a removal: proposals made this run too.
    this.report.summary.created += health.created.length;
    this.save();
    this.keepReport();
  }
}

/** What per-turn tool choice is told: each covered need, most recently seen first, and the tool that answers it. */
function coveredHints(proposals: readonly Proposal[]): NeedHint[] {
  return [...proposals]
    .sort((a, b) => b.lastSeen.localeCompare(a.lastSeen))
    .flatMap((proposal) =>
      proposal.state === "covered" && proposal.coveredBy && !proposal.offer ? [{ goal: proposal.goal, tool: proposal.coveredBy }] : [],
    );
}
