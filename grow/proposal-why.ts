// What a run does with a proposal, and why, in a line a person reads (`--dry-run`, `org grow show`): what it would
// build and why it is first, what waits and for what (a person's word, a candidate's promotion, the budget).
import { type GrowReport, sourcesText } from "./grow-report.ts";
import { MAX_ATTEMPTS, type Proposal } from "./proposal.ts";

/** What the reasons are judged against: the settings, and (a dry run) what the run would build. */
export type WhyContext = {
  confirmSessions: number;
  maxTools: number;
  /** Tools on main now: a rebuild waits until its tool is off it. */
  onMain: ReadonlySet<string>;
  /** The ids a dry run would build, most needed first; absent when not known (`org grow show`). */
  wouldBuild?: readonly string[];
};

function pendingWhy(proposal: Proposal, context: WhyContext): string {
  if (proposal.kind === "rebuild" && proposal.tool !== undefined && context.onMain.has(proposal.tool))
    return `a rebuild of ${proposal.tool}: waits until it is off main`;
  if (proposal.kind === "remove")
    return `proposed for removal: removed by a run under grow.autoPromote, or by org rollback ${proposal.tool ?? "TOOL"}`;
  const need = `${proposal.sessions} session(s), ${proposal.count} turn(s), last seen ${proposal.lastSeen}`;
  if (!context.wouldBuild) return `pending: built when it is among the ${context.maxTools} most needed of a run (${need})`;
  const rank = context.wouldBuild.indexOf(proposal.id);
  if (rank >= 0) return `would build: number ${rank + 1} of the most needed (${need})${proposal.accepted ? "; accepted by a person" : ""}`;
  return `waits: this run's ${context.maxTools} tool(s) go to more-needed proposals (${need})`;
}

/** Why `proposal` is where it is, and what a run does with it next. */
export function proposalWhy(proposal: Proposal, context: WhyContext): string {
  switch (proposal.state) {
    case "pending":
      return pendingWhy(proposal, context);
    case "unconfirmed":
      return (
        `unconfirmed: no person asked for it (${
          sourcesText(proposal.sources) || "no sources " + "recorded"
        }), and it was seen in ${proposal.sessions} of the ${context.confirmSessions} sessions ` +
        `grow.confirmSessions asks; never built until then, or until org grow accept ${proposal.id}`
      );
    case "covered":
      if (proposal.offer) {
        const { id, tool, signer, run } = proposal.offer;
        return `covered by the team's offer ${id} of ${tool}, signed by ${signer}: run ${run}; nothing to build`;
      }
      return proposal.candidate
        ? `covered by ${proposal.coveredBy ?? "?"} on ${proposal.candidate}, which waits for org promote ${proposal.candidate}: nothing to build`
        : `covered by the promoted ${proposal.coveredBy ?? "?"}: nothing to build`;
    case "building":
      return "being built (a run that ended without finishing leaves it to the next)";
    case "built":
      return `passed the gate; waits for org promote ${proposal.branch ?? "BRANCH"}`;
    case "failed":
      return `failed${
        proposal.failure ? `: ` + `${proposal.failure}` : ""
      }${proposal.attempts < MAX_ATTEMPTS && proposal.kind === "build" ? "; tried again when the need comes back" : ""}`;
    case "promoted":
      return proposal.kind === "remove"
        ? `removed ${proposal.tool ?? "?"}${proposal.promotion ? ` (${proposal.promotion})` : ""}`
        : `promoted${proposal.tool ? ` as ${proposal.tool}` : ""}${proposal.promotion ? ` (${proposal.promotion})` : ""}`;
    case "rejected":
      return "rejected by a person: never built (new evidence still counts)";
  }
}

/** A proposal as a report lists it, with its evidence and (when given) why. */
export function reportedProposal(proposal: Proposal, fresh: boolean, why?: string): GrowReport["proposals"][number] {
  return {
    id: proposal.id,
    goal: proposal.goal,
    kind: proposal.kind,
    state: proposal.state,
    count: proposal.count,
    sessions: proposal.sessions,
    sources: proposal.sources,
    new: fresh,
    ...(proposal.coveredBy ? { coveredBy: proposal.coveredBy } : {}),
    ...(proposal.candidate ? { candidate: proposal.candidate } : {}),
    ...(proposal.offer ? { offer: proposal.offer } : {}),
    evidence: proposal.evidence,
    ...(why !== undefined ? { why } : {}),
  };
}
