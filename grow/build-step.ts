// A run's build step: the most-needed proposals built one at a time while the budget lasts, each kept before it starts
// and when it ends, cut or not; a dry run's account of what it would build instead.
import { generatedToolNames } from "../config/tool-names.ts";
import type { BuildProgress } from "../cycle/build-and-promote.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import type { buildProposal } from "./build-proposal.ts";
import { checkCover } from "./cover-needs.ts";
import type { BuildRecord } from "./grow-report.ts";
import type { GrowRun } from "./grow-run.ts";
import { byNeed } from "./merge-needs.ts";
import type { Proposal } from "./proposal.ts";
import { proposalWhy, reportedProposal } from "./proposal-why.ts";

/** Proposals the build step may take now: pending builds, and rebuilds of tools no longer on main. */
function buildable(proposals: readonly Proposal[], onMain: ReadonlySet<string>): Proposal[] {
  return proposals
    .filter(
      (proposal) => proposal.state === "pending" && (proposal.kind === "build" || (proposal.kind === "rebuild" && !onMain.has(proposal.tool ?? ""))),
    )
    .sort(byNeed);
}

/** A dry run's account: every proposal with its evidence and why, and what it would build. */
function account(run: GrowRun, queue: readonly Proposal[], onMain: ReadonlySet<string>): void {
  const { request, report } = run;
  const wouldBuild = queue.slice(0, request.limits.maxTools);
  const context = {
    confirmSessions: request.settings.confirmSessions,
    maxTools: request.limits.maxTools,
    onMain,
    wouldBuild: wouldBuild.map((proposal) => proposal.id),
  };
  const fresh = new Set(report.proposals.filter((proposal) => proposal.new).map((proposal) => proposal.id));
  report.proposals = [...run.state.proposals]
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
function stopBeforeBuild(run: GrowRun, waiting: number): string | undefined {
  const reached = run.budget.check();
  if (reached) return `the ${reached} budget was reached: ${waiting} proposal(s) wait for the next run`;
  if (run.budget.tooLittleTimeForABuild())
    return (
      `the time budget has ${(run.budget.timeLeftMs() / 1000).toFixed(1)} s left, too little for a ` +
      `build: ${waiting} proposal(s) wait for the next run`
    );
  return undefined;
}

/**
 * A proposal an existing tool answers now (a candidate an earlier build of this run made, one built in chat since
 * the run noticed, main), by the name it names or by meaning: covered by that tool, and no build spends the budget
 * on it. Returns whether it is.
 */
async function coveredNow(run: GrowRun, proposal: Proposal): Promise<boolean> {
  if (proposal.kind !== "build") return false;
  const { request } = run;
  await checkCover([proposal], new Set([proposal.id]), {
    repoDir: request.repoDir,
    git: run.git,
    ...(request.shareHome ? { shareHome: request.shareHome } : {}),
    ...(request.embedder ? { embedder: request.embedder } : {}),
    meaning: run.meaning,
    confirmSessions: request.settings.confirmSessions,
    now: run.clock().toISOString(),
    notes: run.report.notes,
    signal: request.signal,
  });
  if (proposal.state !== "covered") return false;
  run.report.summary.covered += 1;
  run.report.notes.push(
    proposal.offer
      ? `${proposal.id} is not built: ${proposal.offer.signer} offered ${proposal.coveredBy} (offer ${proposal.offer.id}): ${proposal.offer.run}`
      : proposal.candidate
        ? `${proposal.id} is not built: ${proposal.coveredBy} waits on ${proposal.candidate} (org promote ${proposal.candidate})`
        : `${proposal.id} is not built: ${proposal.coveredBy} is on main`,
  );
  run.save();
  return true;
}

/** The most-needed proposals built, one at a time, while the budget lasts (a dry run says which it would build, and why). */
export async function buildStep(run: GrowRun): Promise<void> {
  const { request, report } = run;
  const onMain = new Set(generatedToolNames([request.repoDir]));
  const queue = buildable(run.state.proposals, onMain);
  if (request.dryRun) return account(run, queue, onMain);
  const unreachable = queue.length > 0 && request.limits.maxTools > 0 ? await modelServerProblem(request.model, request.signal) : undefined;
  if (unreachable) {
    report.notes.push(`${unreachable}: nothing was built this run; the ${queue.length} proposal(s) wait for the next`);
    return;
  }
  const context = {
    git: run.git,
    config: request.config,
    toolsmithSettings: request.toolsmithSettings,
    model: request.model,
    sandbox: request.sandbox,
    sandboxPolicy: request.sandboxPolicy,
    gate: () => ({
      ...request.gateOptions,
      settings: request.gateSettings,
      git: run.git,
      sandbox: request.sandbox,
      sandboxPolicy: request.sandboxPolicy,
    }),
    ...(request.settings.autoPromote ? { promotion: run.promotion } : {}),
    budget: run.budget,
    instancesDir: run.instancesDir,
  };
  let started = 0;
  for (const [index, proposal] of queue.entries()) {
    if (request.signal.aborted) break;
    const stop = stopBeforeBuild(run, queue.length - index);
    if (stop) {
      report.notes.push(stop);
      break;
    }
    if (await coveredNow(run, proposal)) continue;
    started += 1;
    const cut = await buildOne(run, proposal, { ...context, position: `${started} of at most ${Math.min(queue.length, request.limits.maxTools)}` });
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
async function buildOne(
  run: GrowRun,
  proposal: Proposal,
  context: Parameters<typeof buildProposal>[1] & { position: string },
): Promise<string | undefined> {
  const { request, report } = run;
  run.budget.countTool();
  proposal.state = "building";
  // The candidate of an earlier try is no part of this one.
  delete proposal.branch;
  delete proposal.commit;
  run.save();
  run.say(`building ${proposal.id} (${context.position}, seen ${proposal.count}× in ${proposal.sessions} session(s)): ${proposal.goal}`);
  const onProgress = (progress: BuildProgress) => {
    // Kept before the gate judges it and a promotion merges it: a run killed after those finds what the build became.
    if (progress.type === "toolsmith" && progress.event.type === "branch-created") {
      proposal.branch = progress.event.branch;
      proposal.commit = progress.event.commit;
      run.save();
    }
    request.onProgress?.({ type: "build", proposal: proposal.id, progress });
  };
  const deadline = run.budget.deadline(request.signal);
  let cut: string | undefined;
  try {
    // Loaded for a build only: the toolsmith, the gate and the instances it starts are 350 modules a dry run never uses.
    const { buildProposal } = await import("./build-proposal.ts");
    record(run, await buildProposal(proposal, { ...context, onProgress }, deadline, request.signal));
    return undefined;
  } catch (error) {
    // Cut by the budget (not the run's own signal): the run ends here as any run that reaches it does. Anything
    // else ends the run.
    if (request.signal.aborted || !deadline.aborted) throw error;
    cut = run.budget.cut();
    return cut;
  } finally {
    // Cut or broken mid-build: not stuck in `building`, and not built again when it was promoted first. Read without
    // the run's signal, which may be what cancelled it.
    if (proposal.state === "building") {
      const built = proposal.branch !== undefined;
      const [settled] = await run.settleUnfinished([proposal], "a build cut short").catch(() => {
        proposal.state = "pending";
        return [];
      });
      // What this run did before it was cut short counts in its summary.
      const { summary } = report;
      if (built && settled !== "pending") summary.built += 1;
      if (settled === "promoted" || settled === "built") summary.judged += 1;
      if (settled === "promoted") summary.promoted += 1;
      if (cut) run.say(`  ${proposal.id} ✗ cut by the ${cut} budget: ${cutLine(cut, proposal)}`);
    }
    run.save();
    run.keepReport();
  }
}

function record(run: GrowRun, built: BuildRecord): void {
  const { report } = run;
  report.builds.push(built);
  if (built.branch) report.summary.built += 1;
  if (built.verdict) report.summary.judged += 1;
  if (built.state === "promoted") report.summary.promoted += 1;
  if (built.state === "failed") report.summary.failed += 1;
}

/** What became of a build the budget cut, as its progress says it. */
function cutLine(bound: string, proposal: Proposal): string {
  const spent = bound === "tokens" ? "the run's tokens were spent" : "the run's time ran out";
  if (proposal.state === "promoted") return `${spent} once it was promoted (${proposal.promotion ?? "on main"})`;
  if (proposal.state === "built") return `${spent} once it had passed the gate: it waits, org promote ${proposal.branch ?? ""}`.trimEnd();
  return `${spent} while it was being built; nothing of it was kept`;
}

/** Why the toolsmith's model server cannot build now, or undefined when it answers. */
async function modelServerProblem(model: LanguageModel, signal: AbortSignal): Promise<string | undefined> {
  const probe = await model.probe(signal);
  if (!probe.reachable) return `the toolsmith's model server ${model.server} does not answer (${probe.error})`;
  return probe.failing === undefined ? undefined : `the toolsmith's model server ${model.server} answers with server errors (${probe.failing})`;
}
