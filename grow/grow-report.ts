import { readdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { formatDuration } from "../config/duration.ts";
import { GROW_DIR } from "../config/workspace-paths.ts";
import { readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import { UNTIED_KEPT } from "./goal-tied-to-quote.ts";
import { growDir } from "./grow-state.ts";
import { Evidence, NeedSource, ProposalKind, ProposalOffer, ProposalState } from "./proposal.ts";

const Count = z.int().min(0);
/** How many of the files a run did not hear its report names; the count covers all of them. */
export const UNHEARD_NAMED = 20;

/** One build of a run: the proposal, what the toolsmith made, how the gate judged it, whether it was promoted. */
export const BuildRecord = z.strictObject({
  proposal: z.string(),
  goal: z.string(),
  kind: ProposalKind,
  ok: z.boolean(),
  /** The proposal's state after the build. */
  state: ProposalState,
  tool: z.string().optional(),
  branch: z.string().optional(),
  commit: z.string().optional(),
  verdict: z.enum(["pass", "fail", "error"]).optional(),
  reportPath: z.string().optional(),
  promotion: z.strictObject({ tag: z.string(), merge: z.string(), mainBefore: z.string() }).optional(),
  /** The stage that stopped it (build, current, candidate, fitness, promote). */
  stoppedAt: z.string().optional(),
  failure: z.string().optional(),
  /** Set when it passed and waits for `org promote` (grow.autoPromote is false). */
  waiting: z.string().optional(),
  durationMs: Count,
  modelMs: Count,
  tokens: Count,
});
export type BuildRecord = z.infer<typeof BuildRecord>;

/** A tool rolled back this run: why, with the figures, and the proposal filed to rebuild it. */
export const RollbackRecord = z.strictObject({
  tool: z.string(),
  ok: z.boolean(),
  tag: z.string().optional(),
  undoes: z.string().optional(),
  mainBefore: z.string().optional(),
  newMain: z.string().optional(),
  summary: z.string(),
  reasons: z.array(z.string()),
  evidence: z.unknown(),
  proposal: z.string().optional(),
  failure: z.string().optional(),
  /** A dry run: what would have been done. */
  wouldRollBack: z.boolean().optional(),
});
export type RollbackRecord = z.infer<typeof RollbackRecord>;

/** `.org/grow/<ts>.json`: one run, written when it starts and after each step, so a killed run's report says how far it got. */
export const GrowReport = z.strictObject({
  version: z.literal(1),
  id: z.string(),
  pid: z.int(),
  state: z.enum(["running", "done", "failed"]),
  startedAt: z.iso.datetime(),
  endedAt: z.iso.datetime().optional(),
  dryRun: z.boolean(),
  workspace: z.string(),
  repo: z.string(),
  autoPromote: z.boolean(),
  summary: z.strictObject({
    /** Needs found since the last run. */
    noticed: Count,
    /** Of those, how many joined a proposal that was already there or made this run. */
    merged: Count,
    /** Proposals made this run. */
    created: Count,
    /** Proposals found answered by an existing tool this run. */
    covered: Count,
    /** Candidate branches the toolsmith made. */
    built: Count,
    /** Candidates the gate judged (pass or fail). */
    judged: Count,
    promoted: Count,
    rolledBack: Count,
    /** Idle tools removed (grow.autoPromote) or proposed for removal. */
    removed: Count,
    proposedForRemoval: Count,
    /** Builds that failed (the toolsmith, the gate, or the promotion). */
    failed: Count,
  }),
  budget: z.strictObject({
    wallMs: Count,
    budgetMs: Count,
    tokens: Count,
    maxTokens: Count,
    tools: Count,
    maxTools: Count,
    modelMs: Count,
    stoppedBy: z.enum(["time", "tokens", "tools"]).optional(),
  }),
  read: z
    .strictObject({
      sessions: Count,
      auditDays: Count,
      jobs: Count,
      bytes: Count,
      skippedLines: Count,
      more: z.boolean(),
      /** Transcripts, audit days and job results org did not write here (their seals missing or broken): not heard as anyone's words. */
      unheard: z.strictObject({ files: Count, lines: Count, named: z.array(z.string()).max(UNHEARD_NAMED) }).optional(),
    })
    .optional(),
  /** How the run heard: by the model (batches it answered), by the word rules (and why), needs dropped for a made-up quote. */
  noticing: z
    .strictObject({
      /** `not heard`: the run's budget ended before anything was heard (the turns wait for the next run). */
      by: z.enum(["model", "rules", "model and rules", "nothing to hear", "not heard"]),
      model: z.string().optional(),
      batches: Count,
      byModel: Count,
      byRules: Count,
      dropped: Count,
      /** Needs dropped because their quote is in more than one turn of their batch. */
      ambiguous: Count.optional(),
      /** Needs kept as a model's or a tool's words, their goal not what the person quoted said (unconfirmed until confirmed). */
      notSaid: Count.optional(),
      /** Needs dropped because org's own settings stopped what they ask (a read-only view, a denied call, no network). */
      settings: Count.optional(),
      /** Needs dropped because their goal's aim is moving credentials somewhere (safe-goal.ts refused it). */
      refused: Count.optional(),
      /** Needs dropped because their goal is not what their quote asks: how many, and the first few with why. */
      untied: z
        .strictObject({
          needs: Count,
          named: z.array(z.strictObject({ goal: z.string(), quote: z.string(), why: z.string() })).max(UNTIED_KEPT),
        })
        .optional(),
      /** Turns the run's budget ended before the model heard: not consumed, heard by the next run. */
      waiting: Count.optional(),
      /** `same_need` questions put to the model while merging and covering. */
      questions: Count,
      /** Why the word rules heard what the model did not: noticing was degraded. */
      degraded: z.array(z.string()).optional(),
    })
    .optional(),
  /** What the run noticed, by proposal (a dry run: every proposal): new ones and those that grew, with their evidence and why. */
  proposals: z.array(
    z.strictObject({
      id: z.string(),
      goal: z.string(),
      kind: ProposalKind.optional(),
      state: ProposalState,
      count: Count,
      sessions: Count.optional(),
      sources: z.partialRecord(NeedSource, Count).optional(),
      new: z.boolean(),
      coveredBy: z.string().optional(),
      candidate: z.string().optional(),
      /** Covered by a teammate's offer verified here: its id, tool, signer and what to run. */
      offer: ProposalOffer.optional(),
      evidence: z.array(Evidence).optional(),
      /** What a run does with it, and why: would build (most needed), waits (unconfirmed, covered, the budget), … */
      why: z.string().optional(),
    }),
  ),
  builds: z.array(BuildRecord),
  rollback: RollbackRecord.optional(),
  removals: z.array(
    z.strictObject({
      tool: z.string(),
      proposal: z.string(),
      idleDays: Count,
      removed: z.boolean(),
      tags: z.array(z.string()),
      failure: z.string().optional(),
    }),
  ),
  /** A dry run: the proposals it would build, most needed first, and why. */
  wouldBuild: z
    .array(
      z.strictObject({ id: z.string(), goal: z.string(), count: Count, sessions: Count.optional(), kind: ProposalKind, why: z.string().optional() }),
    )
    .optional(),
  /** Lines worth reading: why something was skipped, what waits for a person. */
  notes: z.array(z.string()),
  error: z.string().optional(),
});
export type GrowReport = z.infer<typeof GrowReport>;

const REPORT_FILE = /^(\d{8}T\d{6}(?:\d{3})?Z(?:-\d+)?)\.json$/;

/** A new report's id: the UTC time to the millisecond, `20261123T101500123Z`. */
export function reportId(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "").replace(".", "");
}

/** `.org/grow/<id>.json`. */
export function reportPath(workspaceDir: string, id: string): string {
  return join(workspaceDir, GROW_DIR, `${id}.json`);
}

/** Writes (or rewrites) a run's report, atomically. */
export function writeGrowReport(workspaceDir: string, report: GrowReport): string {
  growDir(workspaceDir);
  const path = reportPath(workspaceDir, report.id);
  writePrivateFile(path, `${JSON.stringify(GrowReport.parse(report), null, 2)}\n`, { durable: true });
  return path;
}

/** The ids of the workspace's reports, oldest first. */
export function reportIds(workspaceDir: string): string[] {
  let files: string[];
  try {
    files = readdirSync(join(workspaceDir, GROW_DIR));
  } catch {
    return [];
  }
  return files.flatMap((file) => REPORT_FILE.exec(file)?.[1] ?? []).sort();
}

/** A report by id; undefined when it is missing or not a report. */
export function readGrowReport(workspaceDir: string, id: string): GrowReport | undefined {
  try {
    return GrowReport.parse(JSON.parse(readPrivateFile(reportPath(workspaceDir, id))));
  } catch {
    return undefined;
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The run's summary line: noticed, merged, covered, built, judged, promoted, rolled back, and the budget spent. */
export function summaryLine(report: GrowReport): string {
  const { summary: s, budget: b } = report;
  const parts = [
    `noticed ${s.noticed}`,
    `merged ${s.merged}`,
    `covered ${s.covered}`,
    `built ${s.built}`,
    `judged ${s.judged}`,
    `promoted ${s.promoted}`,
    `rolled back ${s.rolledBack}`,
  ];
  const budget =
    `budget spent: ${seconds(b.wallMs)} of ${formatDuration(b.budgetMs)}, ${b.tokens} of ` +
    `${b.maxTokens} tokens, ${b.tools} of ${b.maxTools} tools${b.stoppedBy ? ` (stopped: ${b.stoppedBy} budget reached)` : ""}`;
  return `${report.dryRun ? "dry run: " : ""}${parts.join(", ")}; ${budget}`;
}

/** The needs dropped as not tied to their quote, as a report line shows them: goal, quote and why, the first two. */
function untiedText(named: readonly { goal: string; quote: string; why: string }[]): string {
  const shown = named.slice(0, 2).map((need) => `"${need.goal}" for "${need.quote}": ${need.why}`);
  return `${shown.join("; ")}${named.length > 2 ? "; …" : ""}`;
}

/** How the run heard, as one line: by the model, or degraded to the word rules and why. */
function noticingLine(noticing: NonNullable<GrowReport["noticing"]>): string | undefined {
  if (noticing.by === "nothing to hear") return undefined;
  const dropped = [
    noticing.dropped > 0 ? `; ${noticing.dropped} need(s) dropped: their quote is in no turn` : "",
    (noticing.ambiguous ?? 0) > 0 ? `; ${noticing.ambiguous} need(s) dropped: their quote is in more than one turn` : "",
    (noticing.settings ?? 0) > 0 ? `; ${noticing.settings} need(s) dropped: org's own settings stopped them (a read-only view, a denied call)` : "",
    (noticing.refused ?? 0) > 0 ? `; ${noticing.refused} need(s) dropped: their goal moves credentials somewhere` : "",
    noticing.untied
      ? `; ${noticing.untied.needs} need(s) dropped: their goal is not what their quote asks (${untiedText(noticing.untied.named)})`
      : "",
    (noticing.notSaid ?? 0) > 0 ? `; ${noticing.notSaid} need(s) kept as a model's or a tool's words: their goal is not what the person said` : "",
  ].join("");
  const heard =
    noticing.byModel > 0 ? `heard by the model ${noticing.model ?? "?"}: ${noticing.byModel} of ${noticing.batches} batch(es)${dropped}` : undefined;
  const degraded =
    noticing.byRules > 0 || (noticing.degraded?.length ?? 0) > 0
      ? `noticing degraded: ${(noticing.degraded ?? []).join("; ") || "?"}; the word rules heard ${noticing.byRules} batch(es)`
      : undefined;
  const waiting = noticing.waiting
    ? `${noticing.waiting} turn(s) wait for the next run: the run's budget ended before the model heard them`
    : undefined;
  return [heard, degraded, waiting].filter(Boolean).join(". ");
}

/** How often each source's words showed a proposal: "user 2, tool 1" ("" when none was recorded). */
export function sourcesText(sources: Partial<Record<NeedSource, number>>): string {
  return Object.entries(sources)
    .map(([source, count]) => `${source} ${count}`)
    .join(", ");
}

/** A proposal as a dry run lists it: a line, why, and each piece of evidence with whose words it is. */
export function proposalLines(proposal: GrowReport["proposals"][number]): string[] {
  const sources = sourcesText(proposal.sources ?? {});
  const seen = `${proposal.count}×${proposal.sessions !== undefined ? ` in ${proposal.sessions} session(s)` : ""}${sources ? ` (${sources})` : ""}`;
  const lines = [`${proposal.id} ${proposal.state} ${seen}: ${JSON.stringify(proposal.goal)}`];
  if (proposal.why) lines.push(`  why: ${proposal.why}`);
  for (const evidence of proposal.evidence ?? []) lines.push(`  evidence: ${evidenceText(evidence)}`);
  return lines;
}

/** One piece of evidence as a person reads it: where it was said, whose words, the quote. */
export function evidenceText(evidence: Evidence): string {
  return `session ${evidence.session}, turn ${evidence.turn}, ${evidence.source ?? "source not recorded"}: ${JSON.stringify(evidence.quote)}`;
}

/**
 * What a report says, once, of the files whose lines org did not write here (`read.unheard`); undefined when there
 * were none.
 */
export function unheardLine(report: GrowReport): string | undefined {
  const unheard = report.read?.unheard;
  if (!unheard || unheard.files === 0) return undefined;
  const more = unheard.files > unheard.named.length ? ` and ${unheard.files - unheard.named.length} more` : "";
  return (
    `not heard: ${unheard.files} file(s) not written by org here (${unheard.lines} line(s) or result(s) without ` +
    `your org's seal: a clone's, a backup's taken by another key, an older org's, or moved or edited): ${unheard.named.join(", ")}${more}`
  );
}

/** What a person reads of a run: how it heard, each proposal (a dry run: whole), each build, the rollback, what waits, then the summary line. */
export function reportLines(report: GrowReport): string[] {
  const lines: string[] = [];
  const noticing = report.noticing ? noticingLine(report.noticing) : undefined;
  if (noticing) lines.push(noticing);
  const unheard = unheardLine(report);
  if (unheard) lines.push(unheard);
  const fresh = report.proposals.filter((proposal) => proposal.new);
  if (report.dryRun) for (const proposal of report.proposals) lines.push(...proposalLines(proposal));
  else if (fresh.length > 0)
    lines.push(`new proposals: ${fresh.map((proposal) => `${proposal.id} (${proposal.count}×) ${JSON.stringify(proposal.goal)}`).join("; ")}`);
  if (!report.dryRun)
    for (const proposal of report.proposals.filter((entry) => entry.state === "covered" && entry.coveredBy))
      lines.push(
        `covered: ${proposal.id} ${JSON.stringify(proposal.goal)} is answered by ` +
          (proposal.offer
            ? `the team's offer ${proposal.offer.id} of ${proposal.offer.tool}, signed by ${proposal.offer.signer}: run ${proposal.offer.run}`
            : `${proposal.coveredBy}${proposal.candidate ? ` on ${proposal.candidate}, which waits for org promote ${proposal.candidate}` : ""}`),
      );
  if (report.rollback) {
    const r = report.rollback;
    if (r.wouldRollBack) lines.push(`would roll back ${r.tool}: ${r.summary}`);
    else if (r.ok) lines.push(`rolled back ${r.tool} (${r.tag}, undoes ${r.undoes}): ${r.summary}; rebuild proposal ${r.proposal ?? "-"}`);
    else lines.push(`could not roll back ${r.tool}: ${r.failure ?? "?"} (${r.summary})`);
  }
  for (const removal of report.removals)
    lines.push(
      removal.removed
        ? `removed ${removal.tool} (unused ${removal.idleDays} days): ${removal.tags.join(", ")}`
        : `proposed for removal: ${removal.tool} (unused ${removal.idleDays} days), ` +
            `${removal.proposal}${removal.failure ? `: ${removal.failure}` : ""}`,
    );
  for (const wanted of report.wouldBuild ?? []) lines.push(`would build ${wanted.id} (${wanted.count}×): ${JSON.stringify(wanted.goal)}`);
  for (const build of report.builds) lines.push(buildLine(build));
  for (const note of report.notes) lines.push(note);
  lines.push(summaryLine(report));
  return lines;
}

function buildLine(build: BuildRecord): string {
  const what = `${build.proposal} ${JSON.stringify(build.goal)}`;
  if (build.promotion) return `promoted ${build.tool} for ${what}: ${build.branch} as ${build.promotion.merge.slice(0, 12)} (${build.promotion.tag})`;
  if (build.waiting) return `built ${build.tool} for ${what}: ${build.branch} passed the gate; ${build.waiting}`;
  return `failed ${what}${build.stoppedAt ? ` at ${build.stoppedAt}` : ""}: ${build.failure ?? "?"}`;
}
