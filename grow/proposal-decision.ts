// A person's word on one grow proposal: accept (build it though no person's words asked for it) or reject (never build
// it; new evidence still counts). Kept under the grow lock. `org grow accept|reject` and the web room's Growth view say it.
import { oneLine } from "../security/terminal-sanitizer.ts";
import { takeGrowLock } from "./grow-lock.ts";
import { readGrowState, writeGrowState } from "./grow-state.ts";
import type { Proposal } from "./proposal.ts";
import { OrgError } from "../errors/org-error.ts";

/** The proposal cannot take that word as it stands; the message says why and what to do. */
export class ProposalDecisionError extends OrgError {
  override name = "ProposalDecisionError";
}

export type ProposalVerb = "accept" | "reject";

/** Whether a proposal in `state` may be accepted: one that is unconfirmed, pending, rejected or failed. */
export function canAccept(state: Proposal["state"]): boolean {
  return state === "unconfirmed" || state === "rejected" || state === "failed" || state === "pending";
}

/** Whether a proposal in `state` may be rejected: any but a promoted one (roll the tool back first). */
export function canReject(state: Proposal["state"]): boolean {
  return state !== "promoted" && state !== "rejected";
}

function accept(proposal: Proposal): string {
  const was = proposal.state;
  if (!canAccept(was))
    throw new ProposalDecisionError(
      `${proposal.id} is ${was}${proposal.coveredBy ? ` (by ${proposal.coveredBy})` : ""}; only an ` +
        `unconfirmed, pending, rejected or failed proposal can be accepted`,
    );
  proposal.accepted = true;
  proposal.state = "pending";
  if (was === "failed") proposal.attempts = 0;
  return `accepted ${proposal.id} (was ${was}): ${oneLine(proposal.goal, 120)}; the next run builds it when it is among the most needed`;
}

function reject(proposal: Proposal): string {
  const was = proposal.state;
  if (was === "rejected") return `${proposal.id} was already rejected`;
  if (was === "promoted")
    throw new ProposalDecisionError(
      `${proposal.id} is promoted${proposal.tool ? ` (${proposal.tool})` : ""}; roll it back with org ` +
        `rollback ${proposal.tool ?? "TOOL"}, then reject it`,
    );
  proposal.state = "rejected";
  delete proposal.accepted;
  return (
    `rejected ${proposal.id} (was ${was}): ` +
    `${oneLine(proposal.goal, 120)}${was === "built" && proposal.branch ? `; its candidate ${proposal.branch} stays until org candidate prune` : ""}`
  );
}

/** Says `verb` of proposal `id` under the grow lock (`who` names the holder); returns what was done, in a line. */
export function decideProposal(workspaceDir: string, id: string, verb: ProposalVerb, who: string): string {
  const lock = takeGrowLock(workspaceDir, `${who} ${verb} ${id.slice(0, 40)} (pid ${process.pid})`);
  try {
    const state = readGrowState(workspaceDir);
    const proposal = state.proposals.find((entry) => entry.id === id);
    if (!proposal) throw new ProposalDecisionError(`no proposal ${oneLine(id, 40)} in ${workspaceDir}; 'org grow proposals' lists them`);
    if (proposal.state === "building")
      throw new ProposalDecisionError(`${proposal.id} is being built by a run that ended without finishing; run org grow --once first`);
    const said = verb === "accept" ? accept(proposal) : reject(proposal);
    proposal.updatedAt = new Date().toISOString();
    writeGrowState(workspaceDir, state);
    return said;
  } finally {
    lock.release();
  }
}
