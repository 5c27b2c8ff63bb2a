import { candidateStates } from "../fitness/candidate-states.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { Proposal } from "./proposal.ts";

/** Candidates built and left for `org promote`: promoted by hand since, or rolled back. */
export async function followCandidates(proposals: Proposal[], git: RepoGit, signal: AbortSignal): Promise<void> {
  const waiting = proposals.filter((proposal) => proposal.state === "built" && proposal.branch);
  if (waiting.length === 0) return;
  const rows = new Map((await candidateStates(git, signal)).map((row) => [row.branch, row]));
  for (const proposal of waiting) {
    const row = rows.get(proposal.branch ?? "");
    if (row?.state === "promoted") {
      proposal.state = "promoted";
      if (row.promotion) proposal.promotion = row.promotion;
    } else if (!row || row.state === "rolled-back" || row.state === "fail") {
      proposal.state = "failed";
      proposal.failure = row ? `${proposal.branch} is ${row.state}` : `${proposal.branch} is gone`;
    } else continue;
    proposal.updatedAt = new Date().toISOString();
  }
}
