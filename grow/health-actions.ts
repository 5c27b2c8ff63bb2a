// What `org grow` does with judgeToolHealth's judgement: the one tool to roll back this run is rolled back by name
// (cycle/rollback.ts: a journaled ref transaction, tagged rollback/<ts>), its figures go in the report, and a proposal
// to rebuild it from its failing inputs is filed (the proposal it was built for hands its needs on to that one).
// Tools unused for grow.pruneUnusedDays are proposed for removal, and removed only under grow.autoPromote.
import type { GrowSettings } from "../config/grow-settings.ts";
import { generatedToolFolders } from "../config/tool-names.ts";
import { readPromotedTool } from "../generated-tools/read-promoted-tool.ts";
import type { RefChangeContext } from "../cycle/ref-change.ts";
import { rollback } from "../cycle/rollback.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { isRefusal } from "../security/refusal.ts";
import type { PruneProposal, ToolHealth } from "../usage/tool-health.ts";
import type { RollbackRecord } from "./grow-report.ts";
import { mergeNeeds } from "./merge-needs.ts";
import { GOAL_CHARS } from "./need-signals.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import { safeGoal } from "./safe-goal.ts";
import { toolHealthNow } from "./tool-health-now.ts";
import { MAX_ATTEMPTS, type Proposal } from "./proposal.ts";
import type { Need } from "./room-needs.ts";
import { OrgError } from "../errors/org-error.ts";

/** Rollbacks one removal may take: a tool promoted, rebuilt and promoted again is removed newest first. */
const MAX_REMOVAL_STEPS = 10;

export type HealthOutcome = {
  proposals: Proposal[];
  rollback?: RollbackRecord;
  removals: { tool: string; proposal: string; idleDays: number; removed: boolean; tags: string[]; failure?: string }[];
  created: string[];
};

/** A removal left for the next run: an interrupted promote or rollback was finished instead. */
class RemovalDeferredError extends OrgError {
  override name = "RemovalDeferredError";
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The rebuild's goal: what the tool was for. The inputs it failed on go beside it, as data (`failingInputs`). */
function rebuildGoal(tool: string, description: string | undefined): string {
  const rebuilt = "(rebuilt: it failed on inputs its schema accepts)";
  // A description whose aim is moving credentials is refused as a goal: the rebuild is told the tool's name alone.
  return safeGoal(`${tool}: ${description ?? "the tool of that name"} ${rebuilt}`) || safeGoal(`${tool}: the tool of that name ${rebuilt}`);
}

/** Failing inputs kept with a rebuild, and the bounds of each: a caller's input is data for the toolsmith, never its instructions. */
const KEPT_INPUTS = 3;
const INPUT_CHARS = 400;
const ERROR_CHARS = 300;

/** A recorded input (redacted text, maybe cut) as a bounded JSON excerpt: the value re-encoded when it parses, else the text as a JSON string. */
function jsonExcerpt(text: string): string {
  let encoded: string;
  try {
    encoded = JSON.stringify(JSON.parse(text)) ?? JSON.stringify(text);
  } catch {
    encoded = JSON.stringify(text);
  }
  return encoded.length > INPUT_CHARS ? `${encoded.slice(0, INPUT_CHARS - 1)}…` : encoded;
}

/** The newest distinct failing inputs, as the rebuild proposal keeps them. */
function failingInputsOf(failing: readonly { input: string; error?: string }[]): NonNullable<Proposal["failingInputs"]> {
  const kept = new Map<string, { input: string; error?: string }>();
  for (const call of failing) {
    const input = jsonExcerpt(call.input);
    if (kept.has(input) || kept.size >= KEPT_INPUTS) continue;
    kept.set(input, { input, ...(call.error !== undefined ? { error: oneLine(call.error, ERROR_CHARS) } : {}) });
  }
  return [...kept.values()];
}

/** What acting on health is given. */
type HealthRequest = {
  repoDir: string;
  /** The repository's git (its promotions say since when each tool's calls are judged). */
  git: RepoGit;
  signal: AbortSignal;
  settings: GrowSettings;
  proposals: Proposal[];
  refChange: () => RefChangeContext;
  dryRun: boolean;
  autoPromote: boolean;
  now: Date;
};

/**
 * Judges the promoted tools of `repoDir` and acts: rolls back the one to roll back (unless `dryRun`) and files its
 * rebuild; files removal proposals and, with `autoPromote`, removes those tools. `refChange` gives the promotion
 * lock, journal and current instance the rollbacks run with.
 */
export async function actOnHealth(request: HealthRequest): Promise<HealthOutcome> {
  const health = await toolHealthNow({
    repoDir: request.repoDir,
    settings: request.settings,
    now: request.now,
    git: request.git,
    signal: request.signal,
  });
  const outcome: HealthOutcome = { proposals: request.proposals, removals: [], created: [] };
  if (health.rollback) await rollBackOne(request, health.rollback, outcome);
  for (const idle of health.prune) await proposeRemoval(request, idle, outcome);
  return outcome;
}

/** Rolls `tool` back by name (unless a dry run), files its rebuild from the failing inputs, and retires the proposal it was built for. */
async function rollBackOne(request: HealthRequest, judged: NonNullable<ToolHealth["rollback"]>, outcome: HealthOutcome): Promise<void> {
  const { tool, evidence } = judged;
  const now = request.now.toISOString();
  const read = readPromotedTool(request.repoDir, tool);
  const description = read.ok ? read.tool.metadata.spec.description : undefined;
  const record: RollbackRecord = { tool, ok: false, summary: evidence.summary, reasons: evidence.reasons, evidence };
  outcome.rollback = record;
  if (request.dryRun) {
    record.wouldRollBack = true;
    return;
  }
  try {
    const context = request.refChange();
    const { recovered, result } = await rollback(context, { restart: context.current !== undefined, target: { tool } });
    if (recovered)
      record.failure =
        `an interrupted ${recovered.op} (${recovered.tag}) was ${recovered.outcome} first ` +
        `(${recovered.detail}); ${tool} is rolled back by the next run`;
    if (result) Object.assign(record, { ok: true, tag: result.tag, undoes: result.undoes, mainBefore: result.mainBefore, newMain: result.newMain });
    if (result?.healthy === false) record.failure = "current was not healthy after the rollback";
  } catch (error) {
    if (!isRefusal(error)) throw error;
    record.failure = describe(error);
  }
  if (!record.ok) return;
  const goal = rebuildGoal(tool, description);
  const newest = evidence.failingInputs[0];
  // One need for the rollback: its failing calls are counted below, not once more each (serve's audit log or a
  // transcript may have told of the same calls already).
  const need: Need = {
    kind: "rollback",
    asks: "rebuild",
    goal,
    tool,
    session: "usage",
    turn: record.tag ?? "rollback",
    source: "tool",
    quote: oneLine(
      `${evidence.summary}${newest ? `; newest failing input ${newest.input} (${newest.reason})${newest.error ? `: ${newest.error}` : ""}` : ""}`,
      240,
    ),
    time: now,
  };
  const merged = await mergeNeeds(outcome.proposals, [need], { now: request.now, confirmSessions: request.settings.confirmSessions });
  outcome.proposals = merged.proposals;
  outcome.created.push(...merged.created);
  const rebuild = outcome.proposals.find((proposal) => proposal.kind === "rebuild" && proposal.tool === tool && proposal.state === "pending");
  if (rebuild) {
    record.proposal = rebuild.id;
    // Each failing call is a piece of evidence, the tool's: the sources add up to the count.
    const failedCalls = Math.max(0, evidence.last.failed - rebuild.count);
    rebuild.count += failedCalls;
    rebuild.sources.tool = (rebuild.sources.tool ?? 0) + failedCalls;
    // Its goal says what failed, whatever goal the room's failures gave it first.
    rebuild.goal = goal;
    rebuild.goalFrom = "rollback";
    rebuild.failingInputs = failingInputsOf(evidence.failingInputs);
  }
  for (const proposal of outcome.proposals) {
    if (proposal.state !== "promoted" || proposal.tool !== tool || proposal.kind === "remove") continue;
    proposal.state = "failed";
    proposal.failure = oneLine(`rolled back by ${record.tag}: ${evidence.summary}`, 1000);
    proposal.attempts = MAX_ATTEMPTS;
    if (rebuild) proposal.supersededBy = rebuild.id;
    proposal.updatedAt = now;
  }
}

/** Files (or counts again) the removal of an idle tool; with grow.autoPromote, removes it from main. */
async function proposeRemoval(request: HealthRequest, idle: PruneProposal, outcome: HealthOutcome): Promise<void> {
  const now = request.now.toISOString();
  const need: Need = {
    kind: "idle",
    asks: "remove",
    goal: oneLine(`remove ${idle.tool}: not called since ${idle.lastCall ?? "it was promoted"}`, GOAL_CHARS),
    tool: idle.tool,
    session: "usage",
    turn: `idle-since-${idle.idleSince}`,
    source: "tool",
    quote: `${idle.tool}: no call for ${idle.idleDays} days (idle since ${idle.idleSince})`,
    time: now,
  };
  const merged = await mergeNeeds(outcome.proposals, [need], { now: request.now, confirmSessions: request.settings.confirmSessions });
  outcome.proposals = merged.proposals;
  outcome.created.push(...merged.created);
  const proposal = outcome.proposals.find((entry) => entry.kind === "remove" && entry.tool === idle.tool && entry.state !== "promoted");
  if (!proposal) return;
  const removal: HealthOutcome["removals"][number] = { tool: idle.tool, proposal: proposal.id, idleDays: idle.idleDays, removed: false, tags: [] };
  outcome.removals.push(removal);
  if (request.dryRun || !request.autoPromote || proposal.state !== "pending") return;
  const onMain = () => generatedToolFolders(request.repoDir).names.includes(idle.tool);
  try {
    for (let step = 0; step < MAX_REMOVAL_STEPS && onMain(); step += 1) {
      const context = request.refChange();
      const { recovered, result } = await rollback(context, { restart: context.current !== undefined, target: { tool: idle.tool } });
      if (recovered || !result)
        throw new RemovalDeferredError(`an interrupted ${recovered?.op ?? "change"} was finished first; the next run removes ${idle.tool}`);
      removal.tags.push(result.tag);
    }
    removal.removed = !onMain();
  } catch (error) {
    if (!isRefusal(error)) throw error;
    removal.failure = describe(error);
  }
  if (removal.removed) {
    proposal.state = "promoted";
    const tag = removal.tags.at(-1);
    if (tag) proposal.promotion = tag;
  } else proposal.failure = removal.failure ?? "still on main";
  proposal.updatedAt = now;
}
