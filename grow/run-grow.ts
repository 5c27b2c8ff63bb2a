// One run of `org grow`: notice what happened since the last run, merge it into proposals, mark those an existing
// tool answers, act on the promoted tools' health (one rollback at most), then build the most-needed proposals within
// the budget. Proposals and the cursor are kept after each step, and the run's report (`.org/grow/<id>.json`) is
// rewritten after each step too, so a run killed anywhere leaves consistent state and says how far it got.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { GROW_DIR } from "../config/workspace-paths.ts";
import type { GateOptions } from "../cycle/promote-candidate.ts";
import type { BuildProgress } from "../cycle/build-and-promote.ts";
import type { GrowSettings } from "../config/grow-settings.ts";
import type { OrgConfig } from "../config/org-config.ts";
import type { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { generatedToolNames } from "../config/tool-names.ts";
import { discardCandidate } from "../git/discard-candidate.ts";
import { type CandidateRow, candidateStates } from "../fitness/records/candidate-states.ts";
import { PromotionJournal } from "../git/journal.ts";
import { followBaseline } from "../fitness/records/baseline-follow.ts";
import type { CurrentInstance } from "../git/ref-change.ts";
import { RepoGit } from "../git/repo-git.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import type { Embedder } from "../registry/ollama-embedder.ts";
import { type NeedHint, writeNeedHints } from "../registry/need-hints.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { buildProposal } from "./build-proposal.ts";
import { checkCover } from "./cover-needs.ts";
import { GrowBudget, type GrowLimits } from "./grow-budget.ts";
import { takeGrowLock } from "./grow-lock.ts";
import { type BuildRecord, type GrowReport, reportId, writeGrowReport } from "./grow-report.ts";
import { type GrowState, readGrowState, writeGrowState } from "./grow-state.ts";
import { actOnHealth } from "./health-actions.ts";
import { followCandidates } from "./follow-candidates.ts";
import { byNeed } from "./merge-needs.ts";
import { noticeStep } from "./notice-step.ts";
import type { Proposal, ProposalState } from "./proposal.ts";
import { proposalWhy, reportedProposal } from "./proposal-why.ts";
import type { MeaningJudge } from "./same-meaning.ts";

/** What a run is asked to do, and with what; its builds run in `sandbox` under `sandboxPolicy`. */
export type GrowRequest = SandboxAccess & {
  /** Where the sessions, the audit log and serve's jobs are read, and `.org/grow/` is kept. */
  workspaceDir: string;
  /** The repository whose main grows: built from, judged, promoted into, and whose tools' health is judged. */
  repoDir: string;
  /** The room's config (the in-process instances' personas); `settings` is its `grow`. */
  config: OrgConfig;
  settings: GrowSettings;
  /** The toolsmith's thresholds for the builds, and the gate's (from the repository's own config). */
  toolsmithSettings: ToolsmithSettings;
  gateSettings: ToolsmithSettings;
  /** The gate's other options, apart from the settings and the repository. */
  gateOptions: Omit<GateOptions, "settings" | "git" | "sandbox" | "sandboxPolicy">;
  /** The toolsmith's model. */
  model: LanguageModel;
  /** The model that hears needs and judges whether two are one (grow.model, else the toolsmith's); absent: the word rules alone. */
  listener?: LanguageModel;
  embedder?: Embedder;
  limits: GrowLimits;
  dryRun: boolean;
  /** Current, restarted after a promotion or rollback; absent: not restarted (`--no-restart`, or serve, which follows main itself). */
  current?: CurrentInstance;
  /** Says what the lock holds (`org grow --once`, `serve --grow-every 1h`). */
  command: string;
  onProgress?: (progress: GrowProgress) => void;
  signal: AbortSignal;
  now?: () => Date;
};

/** What a run says while it works: a line of its own, or a build's progress. */
export type GrowProgress = { type: "line"; text: string } | { type: "build"; proposal: string; progress: BuildProgress };

/** The outcome of a run: its report and where it was written (none for a dry run, which keeps only what it noticed). */
export type GrowOutcome = { report: GrowReport; path?: string };

/** Proposals the build step may take now: pending builds, and rebuilds of tools no longer on main. */
function buildable(proposals: readonly Proposal[], onMain: ReadonlySet<string>): Proposal[] {
  return proposals
    .filter(
      (proposal) => proposal.state === "pending" && (proposal.kind === "build" || (proposal.kind === "rebuild" && !onMain.has(proposal.tool ?? ""))),
    )
    .sort(byNeed);
}

/**
 * One run of `org grow`; throws GrowBusyError when another run holds the workspace's lock. A dry run holds it too: it
 * keeps what it noticed (the proposals and the cursor), and changes nothing in git.
 */
export async function runGrow(request: GrowRequest): Promise<GrowOutcome> {
  const lock = takeGrowLock(request.workspaceDir, request.command);
  let run: GrowRun;
  try {
    // Read under the lock: a damaged state file is said, and the lock let go.
    run = new GrowRun(request);
  } catch (error) {
    lock.release();
    throw error;
  }
  try {
    run.keepReport();
    if (!request.dryRun) await run.resumeInterrupted();
    await followCandidates(run.state.proposals, run.git, request.signal);
    await run.notice();
    await run.actOnHealth();
    await run.build();
    run.report.state = "done";
  } catch (error) {
    run.report.state = "failed";
    run.report.error = error instanceof Error ? error.message : String(error);
    throw error;
  } finally {
    run.report.endedAt = run.clock().toISOString();
    try {
      run.keepReport();
    } finally {
      lock.release();
    }
  }
  return { report: run.report, ...(run.path ? { path: run.path } : {}) };
}

/** A run under way: its state, report and budget, kept on disk after each step (a dry run: its state alone). */
class GrowRun {
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

  say(text: string): void {
    this.request.onProgress?.({ type: "line", text });
  }

  save(): void {
    writeGrowState(this.request.workspaceDir, this.state);
  }

  keepReport(): void {
    this.report.budget = this.budget.spent();
    if (!this.request.dryRun) this.path = writeGrowReport(this.request.workspaceDir, this.report);
  }

  /** How a pass is promoted, and rollbacks made: the repository's journal, and current when it is restarted. */
  get promotion() {
    const { repoDir, current } = this.request;
    return {
      context: (log: (line: string) => void) => ({
        git: this.git,
        journal: new PromotionJournal(repoDir),
        followBaseline,
        log,
        ...(current ? { current } : {}),
      }),
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
      confirmSessions: this.request.settings.confirmSessions,
      now: this.clock(),
      deadline: this.budget.deadline(signal),
      signal,
      notes: this.report.notes,
    });
    const { noticed, merged } = step;
    // Turns the budget ended before the model heard: the budget stopped the noticing (they wait for the next run).
    if (step.noticing.waiting) this.budget.cut();
    this.report.read = { ...noticed.read, more: noticed.more };
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
    this.report.proposals = this.state.proposals
      .filter((proposal) => merged.touched.has(proposal.id))
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

  /** A dry run's account: every proposal with its evidence and why, and what it would build. */
  account(queue: readonly Proposal[], onMain: ReadonlySet<string>): void {
    const { request, report } = this;
    const wouldBuild = queue.slice(0, request.limits.maxTools);
    const context = {
      confirmSessions: request.settings.confirmSessions,
      maxTools: request.limits.maxTools,
      onMain,
      wouldBuild: wouldBuild.map((proposal) => proposal.id),
    };
    const fresh = new Set(report.proposals.filter((proposal) => proposal.new).map((proposal) => proposal.id));
    report.proposals = [...this.state.proposals]
      .sort(byNeed)
      .map((proposal) => reportedProposal(proposal, fresh.has(proposal.id), proposalWhy(proposal, context)));
    report.wouldBuild = wouldBuild.map((proposal) => ({
      id: proposal.id,
      goal: proposal.goal,
      count: proposal.count,
      sessions: proposal.sessions,
      kind: proposal.kind,
      why: proposalWhy(proposal, context),
    }));
  }

  /** Why no build may start now: a bound of the budget reached, or too little time left for one; undefined when one may. */
  stopBeforeBuild(waiting: number): string | undefined {
    const reached = this.budget.check();
    if (reached) return `the ${reached} budget was reached: ${waiting} proposal(s) wait for the next run`;
    if (this.budget.tooLittleTimeForABuild())
      return (
        `the time budget has ${(this.budget.timeLeftMs() / 1000).toFixed(1)} s left, too little for a ` +
        `build: ${waiting} proposal(s) wait for the next run`
      );
    return undefined;
  }

  /**
   * A proposal an existing tool answers now (a candidate an earlier build of this run made, one built in chat since
   * the run noticed, main), by the name it names or by meaning: covered by that tool, and no build spends the budget
   * on it. Returns whether it is.
   */
  async coveredNow(proposal: Proposal): Promise<boolean> {
    if (proposal.kind !== "build") return false;
    const { request } = this;
    await checkCover([proposal], new Set([proposal.id]), {
      repoDir: request.repoDir,
      git: this.git,
      ...(request.embedder ? { embedder: request.embedder } : {}),
      meaning: this.meaning,
      confirmSessions: request.settings.confirmSessions,
      now: this.clock().toISOString(),
      notes: this.report.notes,
      signal: request.signal,
    });
    if (proposal.state !== "covered") return false;
    this.report.summary.covered += 1;
    this.report.notes.push(
      proposal.candidate
        ? `${proposal.id} is not built: ${proposal.coveredBy} waits on ${proposal.candidate} (org promote ${proposal.candidate})`
        : `${proposal.id} is not built: ${proposal.coveredBy} is on main`,
    );
    this.save();
    return true;
  }

  /** The most-needed proposals built, one at a time, while the budget lasts (a dry run says which it would build, and why). */
  async build(): Promise<void> {
    const { request, report } = this;
    const onMain = new Set(generatedToolNames([request.repoDir]));
    const queue = buildable(this.state.proposals, onMain);
    if (request.dryRun) return this.account(queue, onMain);
    const unreachable = queue.length > 0 && request.limits.maxTools > 0 ? await modelServerProblem(request.model, request.signal) : undefined;
    if (unreachable) {
      report.notes.push(`${unreachable}: nothing was built this run; the ${queue.length} proposal(s) wait for the next`);
      return;
    }
    const context = {
      git: this.git,
      config: request.config,
      toolsmithSettings: request.toolsmithSettings,
      model: request.model,
      sandbox: request.sandbox,
      sandboxPolicy: request.sandboxPolicy,
      gate: () => ({
        ...request.gateOptions,
        settings: request.gateSettings,
        git: this.git,
        sandbox: request.sandbox,
        sandboxPolicy: request.sandboxPolicy,
      }),
      ...(request.settings.autoPromote ? { promotion: this.promotion } : {}),
      budget: this.budget,
      instancesDir: this.instancesDir,
    };
    let started = 0;
    for (const [index, proposal] of queue.entries()) {
      if (request.signal.aborted) break;
      const stop = this.stopBeforeBuild(queue.length - index);
      if (stop) {
        report.notes.push(stop);
        break;
      }
      if (await this.coveredNow(proposal)) continue;
      started += 1;
      const cut = await this.buildOne(proposal, { ...context, position: `${started} of at most ${Math.min(queue.length, request.limits.maxTools)}` });
      if (cut) {
        const others = queue.length - index - 1;
        report.notes.push(
          `the ${cut} budget ran out while ${proposal.id} was being built: it was cut${
            others > 0 ? `, and ` + `${others} other proposal(s) wait for the next run` : ""
          }`,
        );
        break;
      }
    }
  }

  /** One build, under the run's deadline; returns the bound that cut it, when one did. */
  async buildOne(proposal: Proposal, context: Parameters<typeof buildProposal>[1] & { position: string }): Promise<string | undefined> {
    const { request, report } = this;
    this.budget.countTool();
    proposal.state = "building";
    // The candidate of an earlier try is no part of this one.
    delete proposal.branch;
    delete proposal.commit;
    this.save();
    this.say(`building ${proposal.id} (${context.position}, seen ${proposal.count}× in ${proposal.sessions} session(s)): ${proposal.goal}`);
    const onProgress = (progress: BuildProgress) => {
      // Kept before the gate judges it and a promotion merges it: a run killed after those finds what the build became.
      if (progress.type === "toolsmith" && progress.event.type === "branch-created") {
        proposal.branch = progress.event.branch;
        proposal.commit = progress.event.commit;
        this.save();
      }
      request.onProgress?.({ type: "build", proposal: proposal.id, progress });
    };
    const deadline = this.budget.deadline(request.signal);
    let cut: string | undefined;
    try {
      this.record(await buildProposal(proposal, { ...context, onProgress }, deadline, request.signal));
      return undefined;
    } catch (error) {
      // Cut by the budget (not the run's own signal): the run ends here as any run that reaches it does. Anything
      // else ends the run.
      if (request.signal.aborted || !deadline.aborted) throw error;
      cut = this.budget.cut();
      return cut;
    } finally {
      // Cut or broken mid-build: not stuck in `building`, and not built again when it was promoted first. Read without
      // the run's signal, which may be what cancelled it.
      if (proposal.state === "building") {
        const built = proposal.branch !== undefined;
        const [settled] = await this.settleUnfinished([proposal], "a build cut short").catch(() => {
          proposal.state = "pending";
          return [];
        });
        // What this run did before it was cut short counts in its summary.
        const { summary } = report;
        if (built && settled !== "pending") summary.built += 1;
        if (settled === "promoted" || settled === "built") summary.judged += 1;
        if (settled === "promoted") summary.promoted += 1;
        if (cut) this.say(`  ${proposal.id} ✗ cut by the ${cut} budget: ${cutLine(cut, proposal)}`);
      }
      this.save();
      this.keepReport();
    }
  }

  record(built: BuildRecord): void {
    const { report } = this;
    report.builds.push(built);
    if (built.branch) report.summary.built += 1;
    if (built.verdict) report.summary.judged += 1;
    if (built.state === "promoted") report.summary.promoted += 1;
    if (built.state === "failed") report.summary.failed += 1;
  }
}

/** What became of a build the budget cut, as its progress says it. */
function cutLine(bound: string, proposal: Proposal): string {
  const spent = bound === "tokens" ? "the run's tokens were spent" : "the run's time ran out";
  if (proposal.state === "promoted") return `${spent} once it was promoted (${proposal.promotion ?? "on main"})`;
  if (proposal.state === "built") return `${spent} once it had passed the gate: it waits, org promote ${proposal.branch ?? ""}`.trimEnd();
  return `${spent} while it was being built; nothing of it was kept`;
}

/** What per-turn tool choice is told: each covered need, most recently seen first, and the tool that answers it. */
function coveredHints(proposals: readonly Proposal[]): NeedHint[] {
  return [...proposals]
    .sort((a, b) => b.lastSeen.localeCompare(a.lastSeen))
    .flatMap((proposal) => (proposal.state === "covered" && proposal.coveredBy ? [{ goal: proposal.goal, tool: proposal.coveredBy }] : []));
}

/** Why the toolsmith's model server cannot build now, or undefined when it answers. */
async function modelServerProblem(model: LanguageModel, signal: AbortSignal): Promise<string | undefined> {
  const probe = await model.probe(signal);
  if (!probe.reachable) return `the toolsmith's model server ${model.server} does not answer (${probe.error})`;
  return probe.failing === undefined ? undefined : `the toolsmith's model server ${model.server} answers with server errors (${probe.failing})`;
}
